import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** What ts-proto generates for each message that this needs: an encode that can write into a given writer. */
export interface Encoder<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

/** An answer bigger than this lets its writer go afterwards, so one large page does not pin its buffer for good. */
const KEEP_BYTES = 64 * 1024;

/**
 * Encodes messages through one BinaryWriter that keeps its buffer from one message to the next. ts-proto's
 * generated serializer makes a writer per message, which starts at 128 bytes and doubles as it writes: a Query
 * answer (~550 bytes) cost three off-heap buffers, each zeroed and copied into the next, then a slice, then a
 * Buffer copy: ~29 µs against ~6 µs through this (measured in-process, 100,000 encodes of the same answer). Encoding
 * is synchronous, so one writer serves a whole process. finish() hands back a copy of the bytes written, which the
 * returned Buffer wraps without copying again.
 */
export class ReusedWriter {
  private writer = new BinaryWriter();

  encode<T>(message: T, fns: Encoder<T>): Buffer {
    let bytes: Uint8Array;
    try {
      bytes = fns.encode(message, this.writer).finish();
    } catch (err) {
      this.writer = new BinaryWriter(); // a throw leaves it halfway through a message
      throw err;
    }
    if (bytes.byteLength > KEEP_BYTES) this.writer = new BinaryWriter();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

interface MethodDefinition {
  path: string;
  responseSerialize: (value: never) => Buffer;
}

/**
 * A grpc-js service definition (ts-proto's) whose every response is encoded through one ReusedWriter. Each method's
 * response message is found by name among `messages` (the generated module's exports): buf lint's
 * RPC_RESPONSE_STANDARD_NAME holds every method `Foo` to returning `FooResponse`. A method whose message is not
 * there fails here, at start, rather than answering through a different path.
 */
export function withReusedWriter<S extends Record<string, MethodDefinition>>(service: S, messages: Record<string, unknown>): S {
  const writer = new ReusedWriter();
  const methods = Object.entries(service).map(([key, method]) => {
    const name = `${method.path.slice(method.path.lastIndexOf('/') + 1)}Response`;
    const fns = messages[name] as Encoder<unknown> | undefined;
    if (typeof fns?.encode !== 'function') throw new Error(`no generated message ${name} for ${method.path}`);
    return [key, { ...method, responseSerialize: (value: unknown) => writer.encode(value, fns) }];
  });
  return Object.fromEntries(methods) as S;
}
