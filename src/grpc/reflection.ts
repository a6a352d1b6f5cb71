import { create, fromBinary, toBinary, type DescMessage, type Message } from '@bufbuild/protobuf';
import { status, type Server, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { loadDescriptorImage, type DescriptorImage } from './descriptor-image';

/**
 * gRPC server reflection, v1 and v1alpha, serving the descriptors `buf build` compiled (see buf.reflection.yaml):
 * every file under its own name with its imports, original field names and real map entries, so strict clients
 * (grpcurl, Google's protobuf runtimes) can build a descriptor pool from it. A file comes with its transitive
 * imports; on one stream each import is sent once (the file asked for always comes), as grpc-go does.
 */
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

type Oneof<T> = { [K in keyof T]: { case: K; value: T[K] } }[keyof T] | { case: undefined; value?: undefined };

/** grpc.reflection.v1(alpha).ServerReflectionRequest as @bufbuild/protobuf decodes it. */
interface ReflectionRequest extends Message {
  host: string;
  messageRequest: Oneof<{
    fileByFilename: string;
    fileContainingSymbol: string;
    fileContainingExtension: { containingType: string; extensionNumber: number };
    allExtensionNumbersOfType: string;
    listServices: string;
  }>;
}

type Answer = Oneof<{
  fileDescriptorResponse: { fileDescriptorProto: Uint8Array[] };
  allExtensionNumbersResponse: { baseTypeName: string; extensionNumber: number[] };
  listServicesResponse: { service: { name: string }[] };
  errorResponse: { errorCode: number; errorMessage: string };
}>;

interface ErrorLog {
  error(obj: object, msg: string): void;
}

/**
 * Adds both reflection services to the server. `served` names the other services the server runs (what
 * list_services answers, with reflection itself); each must be in the image, or the image is stale.
 */
export function addReflection(server: Pick<Server, 'addService'>, served: string[], log: ErrorLog, image = loadDescriptorImage()): void {
  const services = [...served, ...REFLECTION_SERVICES];
  const missing = services.filter((s) => image.symbols.get(s)?.kind !== 'service');
  if (missing.length > 0) {
    throw new Error(`the descriptor image lacks ${missing.join(', ')}: run \`npm run generate\``);
  }
  for (const name of REFLECTION_SERVICES) {
    const pkg = name.slice(0, name.lastIndexOf('.'));
    const request = image.registry.getMessage(`${pkg}.ServerReflectionRequest`)!;
    const response = image.registry.getMessage(`${pkg}.ServerReflectionResponse`)!;
    server.addService(definition(name, request, response), {
      ServerReflectionInfo: (call: ServerDuplexStream<ReflectionRequest, Message>) => {
        const sent = new Set<string>();
        call.on('data', (req: ReflectionRequest) => {
          const messageResponse = answerSafely(image, services, req, sent, log);
          call.write(create(response, { validHost: req.host, originalRequest: req, messageResponse }));
        });
        call.on('end', () => call.end());
      },
    });
  }
}

function definition(service: string, request: DescMessage, response: DescMessage): ServiceDefinition {
  return {
    ServerReflectionInfo: {
      path: `/${service}/ServerReflectionInfo`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: Message) => Buffer.from(toBinary(request, m)),
      requestDeserialize: (b: Buffer) => fromBinary(request, b),
      responseSerialize: (m: Message) => Buffer.from(toBinary(response, m)),
      responseDeserialize: (b: Buffer) => fromBinary(response, b),
    },
  };
}

/** A bug here must not take the process down with it (this runs in a stream's event handler). */
function answerSafely(image: DescriptorImage, services: string[], req: ReflectionRequest, sent: Set<string>, log: ErrorLog): Answer {
  try {
    return answer(image, services, req, sent);
  } catch (err) {
    log.error({ err, request: req.messageRequest.case }, 'reflection request failed');
    return failure(status.INTERNAL, 'reflection failed');
  }
}

function answer(image: DescriptorImage, services: string[], req: ReflectionRequest, sent: Set<string>): Answer {
  const r = req.messageRequest;
  switch (r.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: services.map((name) => ({ name })) } };
    case 'fileByFilename':
      if (!image.files.has(r.value)) return failure(status.NOT_FOUND, `file not found: ${r.value}`);
      return withImports(image, r.value, sent);
    case 'fileContainingSymbol': {
      const symbol = image.symbols.get(r.value.replace(/^\./, ''));
      if (!symbol) return failure(status.NOT_FOUND, `symbol not found: ${r.value}`);
      return withImports(image, symbol.file, sent);
    }
    case 'fileContainingExtension': {
      const { containingType, extensionNumber } = r.value;
      const file = image.extensions.get(containingType.replace(/^\./, ''))?.get(extensionNumber);
      if (!file) return failure(status.NOT_FOUND, `extension not found: ${containingType} ${extensionNumber}`);
      return withImports(image, file, sent);
    }
    case 'allExtensionNumbersOfType': {
      const type = r.value.replace(/^\./, '');
      if (image.symbols.get(type)?.kind !== 'message') {
        return failure(status.NOT_FOUND, `message type not found: ${r.value}`);
      }
      const numbers = [...(image.extensions.get(type)?.keys() ?? [])].sort((x, y) => x - y);
      return { case: 'allExtensionNumbersResponse', value: { baseTypeName: type, extensionNumber: numbers } };
    }
    case undefined: // no message_request set, or one this protocol version does not have
      return failure(status.INVALID_ARGUMENT, 'empty reflection request');
  }
}

/** The file, then its transitive imports not sent before on this stream. */
function withImports(image: DescriptorImage, name: string, sent: Set<string>): Answer {
  const out: Uint8Array[] = [];
  const queue = [name];
  const seen = new Set<string>();
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    const file = image.files.get(next)!; // createFileRegistry checked every import is in the image
    if (next === name || !sent.has(next)) out.push(file.bytes);
    sent.add(next);
    queue.push(...file.proto.dependency);
  }
  return { case: 'fileDescriptorResponse', value: { fileDescriptorProto: out } };
}

function failure(errorCode: status, errorMessage: string): Answer {
  return { case: 'errorResponse', value: { errorCode, errorMessage } };
}
