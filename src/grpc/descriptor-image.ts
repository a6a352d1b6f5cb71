import { create, createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Written by `npm run generate` (buf.reflection.yaml); `npm run build` copies it beside the compiled code. */
export const DESCRIPTOR_IMAGE_PATH = path.resolve(__dirname, '../gen/descriptors.binpb');

export type SymbolKind = 'message' | 'field' | 'oneof' | 'enum' | 'enum value' | 'service' | 'method' | 'extension';

/** The compiled protos, indexed for server reflection. Files keep the exact bytes buf wrote. */
export interface DescriptorImage {
  /** Every file, resolved against its imports; also the schemas of the reflection service's own messages. */
  registry: FileRegistry;
  /** File name → its FileDescriptorProto as serialized by buf, byte for byte. */
  files: ReadonlyMap<string, { proto: FileDescriptorProto; bytes: Uint8Array }>;
  /** Fully-qualified name (no leading dot) → the file that declares it and what it is. */
  symbols: ReadonlyMap<string, { file: string; kind: SymbolKind }>;
  /** Extended message → extension number → the file that declares the extension. */
  extensions: ReadonlyMap<string, ReadonlyMap<number, string>>;
}

export function loadDescriptorImage(file = DESCRIPTOR_IMAGE_PATH): DescriptorImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`no descriptor image at ${file}: run \`npm run generate\` (${(err as Error).message})`, { cause: err });
  }
  return descriptorImage(bytes);
}

/** Indexes a FileDescriptorSet; throws if a file's imports are not in it. */
export function descriptorImage(set: Uint8Array): DescriptorImage {
  const files = new Map<string, { proto: FileDescriptorProto; bytes: Uint8Array }>();
  for (const bytes of fileBytes(set)) {
    const proto = fromBinary(FileDescriptorProtoSchema, bytes);
    files.set(proto.name, { proto, bytes });
  }
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...files.values()].map((f) => f.proto) }));
  const symbols = new Map<string, { file: string; kind: SymbolKind }>();
  const extensions = new Map<string, Map<number, string>>();
  for (const { proto } of files.values()) {
    const add = (name: string, kind: SymbolKind) => {
      if (!symbols.has(name)) symbols.set(name, { file: proto.name, kind });
    };
    const addExtension: AddExtension = (scope, x) => {
      add(scope + x.name, 'extension');
      const extendee = x.extendee.replace(/^\./, '');
      extensions.set(extendee, (extensions.get(extendee) ?? new Map<number, string>()).set(x.number, proto.name));
    };
    const scope = proto.package ? `${proto.package}.` : '';
    proto.messageType.forEach((m) => indexMessage(m, scope, add, addExtension));
    proto.enumType.forEach((e) => indexEnum(e, scope, add));
    proto.extension.forEach((x) => addExtension(scope, x));
    for (const s of proto.service) {
      add(scope + s.name, 'service');
      s.method.forEach((m) => add(`${scope}${s.name}.${m.name}`, 'method'));
    }
  }
  return { registry, files, symbols, extensions };
}

/** The `file` entries of a FileDescriptorSet as they are on the wire, without decoding and encoding them again. */
function fileBytes(set: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(set);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) out.push(reader.bytes().slice());
    else reader.skip(wireType, fieldNo);
  }
  return out;
}

type Add = (name: string, kind: SymbolKind) => void;
type AddExtension = (scope: string, x: FieldDescriptorProto) => void;

function indexMessage(m: DescriptorProto, scope: string, add: Add, addExtension: AddExtension): void {
  const name = scope + m.name;
  add(name, 'message');
  m.field.forEach((f) => add(`${name}.${f.name}`, 'field'));
  m.oneofDecl.forEach((o) => add(`${name}.${o.name}`, 'oneof'));
  m.nestedType.forEach((n) => indexMessage(n, `${name}.`, add, addExtension));
  m.enumType.forEach((e) => indexEnum(e, `${name}.`, add));
  m.extension.forEach((x) => addExtension(`${name}.`, x));
}

/** Enum values are siblings of their enum, as protobuf scopes them (payment.v1.ORDER_STATUS_SUCCESS). */
function indexEnum(e: EnumDescriptorProto, scope: string, add: Add): void {
  add(scope + e.name, 'enum');
  e.value.forEach((v) => add(scope + v.name, 'enum value'));
}
