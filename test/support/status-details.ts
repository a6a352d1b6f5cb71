import { createFileRegistry, fromBinary, type Registry } from '@bufbuild/protobuf';
import { anyUnpack, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { DESCRIPTOR_IMAGE_PATH } from '../../src/grpc/descriptor-image';

/**
 * Decodes a status's `grpc-status-details-bin` with @bufbuild/protobuf (a different runtime from the ts-proto
 * code that encodes it), from the descriptors buf built: the same files reflection serves.
 */
let registry: Registry | undefined;
const types = (): Registry => (registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTOR_IMAGE_PATH))));

export interface DecodedStatus {
  code: number;
  message: string;
  /** The type names of the details, in order. */
  types: string[];
  errorInfo?: { reason: string; domain: string; metadata: Record<string, string> };
  fieldViolations?: { field: string; description: string }[];
  retryDelayMs?: number;
}

interface Fields {
  [k: string]: unknown;
}

export function decodeStatus(err: Pick<ServiceError, 'metadata'>): DecodedStatus {
  const raw = err.metadata?.get('grpc-status-details-bin') ?? [];
  if (raw.length !== 1 || !(raw[0] instanceof Buffer)) throw new Error(`expected one grpc-status-details-bin, got ${raw.length}`);
  const reg = types();
  const statusType = reg.getMessage('google.rpc.Status');
  if (!statusType) throw new Error('google.rpc.Status is not in the descriptor image');
  const status = fromBinary(statusType, raw[0]) as unknown as { code: number; message: string; details: Parameters<typeof anyUnpack>[0][] };
  const out: DecodedStatus = { code: status.code, message: status.message, types: [] };
  for (const any of status.details) {
    const msg = anyUnpack(any, reg) as unknown as Fields | undefined;
    if (!msg) throw new Error(`cannot unpack ${any.typeUrl}`);
    const type = any.typeUrl.replace('type.googleapis.com/', '');
    out.types.push(type);
    if (type === 'google.rpc.ErrorInfo') {
      out.errorInfo = {
        reason: msg.reason as string,
        domain: msg.domain as string,
        metadata: { ...(msg.metadata as Record<string, string>) },
      };
    } else if (type === 'google.rpc.BadRequest') {
      out.fieldViolations = (msg.fieldViolations as Fields[]).map((v) => ({
        field: v.field as string,
        description: v.description as string,
      }));
    } else if (type === 'google.rpc.RetryInfo') {
      const d = msg.retryDelay as { seconds: bigint; nanos: number };
      out.retryDelayMs = Number(d.seconds) * 1000 + d.nanos / 1e6;
    }
  }
  return out;
}
