import { create, fromBinary, toBinary, type DescMessage, type Message } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { status, type ServiceDefinition } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { descriptorImage, loadDescriptorImage, type DescriptorImage } from '../../src/grpc/descriptor-image';
import { addReflection } from '../../src/grpc/reflection';

/**
 * The reflection service on an image with what paysvc's own protos lack: extensions (file-level and nested),
 * a proto2 extension range, enum values. Driven through the real handler and codec, without a network.
 */
const REAL = loadDescriptorImage();

const base = create(FileDescriptorProtoSchema, {
  name: 'ext/base.proto',
  package: 'ext',
  syntax: 'proto2',
  messageType: [{ name: 'Base', extensionRange: [{ start: 100, end: 200 }] }],
  enumType: [{ name: 'Color', value: [{ name: 'COLOR_RED', number: 0 }] }],
  service: [{ name: 'Svc', method: [{ name: 'Do', inputType: '.ext.Base', outputType: '.ext.Base' }] }],
});
const more = create(FileDescriptorProtoSchema, {
  name: 'ext/more.proto',
  package: 'ext',
  syntax: 'proto2',
  dependency: ['ext/base.proto'],
  extension: [{ name: 'note', number: 100, label: Label.OPTIONAL, type: Type.STRING, extendee: '.ext.Base' }],
  messageType: [
    { name: 'Holder', extension: [{ name: 'n', number: 101, label: Label.OPTIONAL, type: Type.INT32, extendee: '.ext.Base' }] },
  ],
});

function testImage(): DescriptorImage {
  const reflectionFiles = [...REAL.files.values()].filter((f) => f.proto.name.startsWith('grpc/reflection/')).map((f) => f.proto);
  const files: FileDescriptorProto[] = [...reflectionFiles, base, more];
  return descriptorImage(toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files })));
}

interface Answer {
  validHost: string;
  originalRequest?: Message;
  messageResponse: { case: string | undefined; value?: Record<string, unknown> };
}

const errors: unknown[] = [];
afterEach(() => expect(errors.splice(0)).toEqual([]));

/** One ServerReflectionInfo stream of the v1 service: send a request, get the decoded response. */
function openStream(image: DescriptorImage, served: string[] = ['ext.Svc']) {
  let definition: ServiceDefinition | undefined;
  let impl: Record<string, (call: unknown) => void> | undefined;
  addReflection(
    {
      addService: (d, i) => {
        if (d.ServerReflectionInfo.path === '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo') {
          definition = d;
          impl = i as never;
        }
      },
    },
    served,
    { error: (obj, msg) => errors.push([msg, obj]) },
    image,
  );
  const req = image.registry.getMessage('grpc.reflection.v1.ServerReflectionRequest') as DescMessage;
  const res = image.registry.getMessage('grpc.reflection.v1.ServerReflectionResponse') as DescMessage;
  const call = Object.assign(new EventEmitter(), { written: [] as unknown[], write: (m: unknown) => call.written.push(m), end: () => {} });
  impl!.ServerReflectionInfo(call);
  const m = definition!.ServerReflectionInfo;
  return (request: object): Answer => {
    call.emit('data', m.requestDeserialize(Buffer.from(toBinary(req, create(req, request as never)))));
    return fromBinary(res, m.responseSerialize(call.written.at(-1)) as Uint8Array) as unknown as Answer;
  };
}

const files = (a: Answer) =>
  ((a.messageResponse.value?.fileDescriptorProto ?? []) as Uint8Array[]).map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
const error = (a: Answer) => a.messageResponse.case === 'errorResponse' && a.messageResponse.value!.errorCode;
const ask = (kind: string, value: unknown) => ({ host: 'h:1', messageRequest: { case: kind, value } });

describe('Reflection answers', () => {
  it('When an extension is asked for by extendee and number, then the file declaring it comes with its import', () => {
    const send = openStream(testImage());
    expect(files(send(ask('fileContainingExtension', { containingType: 'ext.Base', extensionNumber: 101 })))).toEqual([
      'ext/more.proto',
      'ext/base.proto',
    ]);
    expect(files(send(ask('fileContainingExtension', { containingType: 'ext.Base', extensionNumber: 100 })))).toEqual(['ext/more.proto']);
    expect(error(send(ask('fileContainingExtension', { containingType: 'ext.Base', extensionNumber: 150 })))).toBe(status.NOT_FOUND);
  });

  it('When extension numbers are asked for, then a message lists its own (even none) and anything else is NOT_FOUND', () => {
    const send = openStream(testImage());
    const a = send(ask('allExtensionNumbersOfType', '.ext.Base'));
    expect(a.messageResponse).toEqual({
      case: 'allExtensionNumbersResponse',
      value: expect.objectContaining({ baseTypeName: 'ext.Base', extensionNumber: [100, 101] }),
    });
    expect(send(ask('allExtensionNumbersOfType', 'ext.Holder')).messageResponse.value).toMatchObject({ extensionNumber: [] });
    expect(error(send(ask('allExtensionNumbersOfType', 'ext.Color')))).toBe(status.NOT_FOUND);
    expect(error(send(ask('allExtensionNumbersOfType', 'ext.Nope')))).toBe(status.NOT_FOUND);
  });

  it('When symbols are asked for, then they resolve as protobuf scopes them', () => {
    const send = openStream(testImage());
    expect(files(send(ask('fileContainingSymbol', 'ext.Holder.n')))).toEqual(['ext/more.proto', 'ext/base.proto']);
    expect(files(send(ask('fileContainingSymbol', 'ext.note')))).toEqual(['ext/more.proto']);
    expect(files(send(ask('fileContainingSymbol', 'ext.COLOR_RED')))).toEqual(['ext/base.proto']);
    expect(files(send(ask('fileContainingSymbol', 'ext.Svc.Do')))).toEqual(['ext/base.proto']);
    expect(error(send(ask('fileContainingSymbol', 'ext.Color.COLOR_RED')))).toBe(status.NOT_FOUND);
  });

  it('When a file was sent before on the stream, then it comes again only when asked for itself', () => {
    const send = openStream(testImage());
    expect(files(send(ask('fileByFilename', 'ext/more.proto')))).toEqual(['ext/more.proto', 'ext/base.proto']);
    expect(files(send(ask('fileByFilename', 'ext/base.proto')))).toEqual(['ext/base.proto']);
    expect(files(send(ask('fileByFilename', 'ext/more.proto')))).toEqual(['ext/more.proto']);
    // a new stream starts over
    expect(files(openStream(testImage())(ask('fileByFilename', 'ext/more.proto'))).sort()).toEqual(['ext/base.proto', 'ext/more.proto']);
  });

  it('When a request is empty, then INVALID_ARGUMENT, with the host and the request echoed', () => {
    const a = openStream(testImage())({ host: 'paysvc:50051' });
    expect(error(a)).toBe(status.INVALID_ARGUMENT);
    expect(a.validHost).toBe('paysvc:50051');
    expect(a.originalRequest).toMatchObject({ host: 'paysvc:50051' });
  });

  it('When services are listed, then the served ones and both reflection versions come back', () => {
    expect(openStream(testImage())(ask('listServices', '*')).messageResponse.value).toMatchObject({
      service: [{ name: 'ext.Svc' }, { name: 'grpc.reflection.v1.ServerReflection' }, { name: 'grpc.reflection.v1alpha.ServerReflection' }],
    });
  });

  it('When the server runs a service the image lacks, then it refuses to start and says to regenerate', () => {
    expect(() => openStream(testImage(), ['ext.Svc', 'payment.v1.PaymentService'])).toThrow(
      'the descriptor image lacks payment.v1.PaymentService: run `npm run generate`',
    );
  });

  it('When a file’s import is missing from the image, then loading it fails', () => {
    const set = create(FileDescriptorSetSchema, { file: [more] });
    expect(() => descriptorImage(toBinary(FileDescriptorSetSchema, set))).toThrow(/ext\/base\.proto/);
  });
});
