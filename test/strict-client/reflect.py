#!/usr/bin/python3
"""A strict gRPC reflection client: Google's protobuf runtime (its C++ descriptor pool) over gRPC C-core.

It knows nothing about paysvc but what server reflection tells it, and uses it the way grpcurl does: it lists the
services, asks for the file of every symbol, fetches by name each import a file names and it has not received yet,
and builds a fresh DescriptorPool from those FileDescriptorProtos (the pool enforces imports, map entries and JSON
names). It then describes every service, method, message and enum, and calls every unary RPC of
payment.v1.PaymentService with snake_case JSON, as the README's grpcurl lines do. A failed call's
grpc-status-details-bin is decoded as google.rpc.Status with the google/rpc files fetched by name through
reflection (Debian ships no googleapis-common-protos). It prints one JSON report.

  /usr/bin/python3 test/strict-client/reflect.py 127.0.0.1:50051 --tenant demo [--header 'authorization: Bearer x']

Debian's python3-grpcio and python3-protobuf: use /usr/bin/python3, not a virtualenv's python.
"""
import argparse
import datetime
import hashlib
import json
import queue
import sys
import urllib.request

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

PAYMENT_SERVICE = 'payment.v1.PaymentService'
ERROR_MODEL_FILES = ('google/rpc/status.proto', 'google/rpc/error_details.proto')
REFLECTION_APIS = {'v1': 'grpc.reflection.v1', 'v1alpha': 'grpc.reflection.v1alpha'}
TIMEOUT_S = 30


def message_class(descriptor):
    get = getattr(message_factory, 'GetMessageClass', None)  # protobuf >= 4.22; Debian 12 ships 4.21
    return get(descriptor) if get else message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


def reflection_protocol():
    """The reflection messages, declared here: a client cannot learn the reflection protocol through reflection.
    v1 and v1alpha share them field for field; only the service's package differs."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name='strict_client/reflection.proto', package='strict_client', syntax='proto3')

    def message(name, fields, oneof=None):
        m = fdp.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof)
        for number, (fname, ftype, *rest) in fields.items():
            f = m.field.add(name=fname, number=number, type=ftype, label=F.LABEL_OPTIONAL)
            for opt in rest:
                if opt == 'repeated':
                    f.label = F.LABEL_REPEATED
                elif opt == 'oneof':
                    f.oneof_index = 0
                else:
                    f.type_name = '.strict_client.' + opt

    S, B, I, M = F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_INT32, F.TYPE_MESSAGE
    message('ServerReflectionRequest', {
        1: ('host', S), 3: ('file_by_filename', S, 'oneof'), 4: ('file_containing_symbol', S, 'oneof'),
        5: ('file_containing_extension', M, 'ExtensionRequest', 'oneof'),
        6: ('all_extension_numbers_of_type', S, 'oneof'), 7: ('list_services', S, 'oneof'),
    }, oneof='message_request')
    message('ExtensionRequest', {1: ('containing_type', S), 2: ('extension_number', I)})
    message('ServerReflectionResponse', {
        1: ('valid_host', S), 2: ('original_request', M, 'ServerReflectionRequest'),
        4: ('file_descriptor_response', M, 'FileDescriptorResponse', 'oneof'),
        5: ('all_extension_numbers_response', M, 'ExtensionNumberResponse', 'oneof'),
        6: ('list_services_response', M, 'ListServiceResponse', 'oneof'), 7: ('error_response', M, 'ErrorResponse', 'oneof'),
    }, oneof='message_response')
    message('FileDescriptorResponse', {1: ('file_descriptor_proto', B, 'repeated')})
    message('ExtensionNumberResponse', {1: ('base_type_name', S), 2: ('extension_number', I, 'repeated')})
    message('ListServiceResponse', {1: ('service', M, 'ServiceResponse', 'repeated')})
    message('ServiceResponse', {1: ('name', S)})
    message('ErrorResponse', {1: ('error_code', I), 2: ('error_message', S)})
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return (message_class(pool.FindMessageTypeByName('strict_client.ServerReflectionRequest')),
            message_class(pool.FindMessageTypeByName('strict_client.ServerReflectionResponse')))


Request, Response = reflection_protocol()


class ReflectionError(Exception):
    def __init__(self, code, message):
        super().__init__(f'{code_name(code)}: {message}')
        self.code = code


def code_name(code):
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), str(code))


class Reflection:
    """One ServerReflectionInfo stream, asked one request at a time, and the pool built from its answers."""

    def __init__(self, channel, package, metadata):
        call = channel.stream_stream(f'/{package}.ServerReflection/ServerReflectionInfo',
                                     request_serializer=Request.SerializeToString, response_deserializer=Response.FromString)
        self._requests = queue.Queue()
        self._responses = call(iter(self._requests.get, None), metadata=metadata, timeout=TIMEOUT_S)
        self.received = {}  # file name -> FileDescriptorProto, first copy wins (as in grpcurl)
        self.sha256 = {}  # file name -> sha256 of the bytes served, to compare with what buf built
        self.pool = descriptor_pool.DescriptorPool()
        self._added = set()

    def close(self):
        self._requests.put(None)
        for _ in self._responses:
            pass

    def ask(self, **request):
        self._requests.put(Request(**request))
        response = next(self._responses)
        if response.WhichOneof('message_response') == 'error_response':
            raise ReflectionError(response.error_response.error_code, response.error_response.error_message)
        return response

    def files(self, **request):
        """Asks for files; keeps every FileDescriptorProto received and returns the names, in the order sent."""
        names = []
        for raw in self.ask(**request).file_descriptor_response.file_descriptor_proto:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self.received.setdefault(fdp.name, fdp)
            self.sha256.setdefault(fdp.name, hashlib.sha256(raw).hexdigest())
            names.append(fdp.name)
        return names

    def load(self, name):
        """Adds a file to the pool after its imports, fetching by name any the server has not sent yet."""
        if name in self._added:
            return
        if name not in self.received:
            self.files(file_by_filename=name)
            if name not in self.received:
                raise ReflectionError(5, f'file_by_filename {name} did not return {name}')
        fdp = self.received[name]
        for dep in fdp.dependency:
            self.load(dep)
        self.pool.Add(fdp)
        self.pool.FindFileByName(name)  # builds and validates it now: imports, map entries, json names
        self._added.add(name)

    def file_of(self, symbol):
        names = self.files(file_containing_symbol=symbol)
        if not names:
            raise ReflectionError(5, f'no file returned for {symbol}')
        for name in names:
            self.load(name)
        return names[0]


def streaming(method):
    """(client_streaming, server_streaming), read from the method's proto: older runtimes lack the attributes."""
    p = descriptor_pb2.MethodDescriptorProto()
    method.CopyToProto(p)
    return p.client_streaming, p.server_streaming


def field_info(f):
    info = {'name': f.name, 'json_name': f.json_name, 'number': f.number, 'type': f.type}
    if f.message_type is not None:
        info['type_name'] = f.message_type.full_name
        if f.message_type.GetOptions().map_entry:
            info['map'] = True
    if f.enum_type is not None:
        info['type_name'] = f.enum_type.full_name
    return info


def all_types(file_desc):
    def walk(messages):
        for m in messages:
            yield m
            yield from walk(m.nested_types)
    messages = list(walk(file_desc.message_types_by_name.values()))
    enums = list(file_desc.enum_types_by_name.values()) + [e for m in messages for e in m.enum_types]
    return messages, enums


def describe(refl, services):
    """What `grpcurl describe` needs for every service, method, message and enum: each symbol's file through
    file_containing_symbol, then the descriptor from the pool. Symbol -> description or error."""
    out = {}

    def one(symbol, find, render):
        try:
            file_name = refl.file_of(symbol)
            out[symbol] = {'file': file_name, **render(find(symbol))}
        except Exception as e:  # noqa: BLE001 - every failure is reported per symbol
            out[symbol] = {'error': str(e)}

    files = set()
    for name in services:
        one(name, refl.pool.FindServiceByName, lambda s: {'kind': 'service', 'methods': [m.name for m in s.methods]})
        if 'error' in out[name]:
            continue
        svc = refl.pool.FindServiceByName(name)
        files.add(svc.file.name)
        for m in svc.methods:
            one(m.full_name, refl.pool.FindMethodByName, lambda m: {
                'kind': 'method', 'input': m.input_type.full_name, 'output': m.output_type.full_name,
                'client_streaming': streaming(m)[0], 'server_streaming': streaming(m)[1]})
            if 'error' not in out[m.full_name]:
                files.update({m.input_type.file.name, m.output_type.file.name})
    # every message and enum of every file loaded so far and of their imports
    pending, seen = list(files), set()
    while pending:
        f = refl.pool.FindFileByName(pending.pop())
        if f.name in seen:
            continue
        seen.add(f.name)
        pending.extend(d.name for d in f.dependencies)
        messages, enums = all_types(f)
        for m in messages:
            one(m.full_name, refl.pool.FindMessageTypeByName, lambda d: {
                'kind': 'message', 'map_entry': d.GetOptions().map_entry, 'fields': [field_info(x) for x in d.fields]})
        for e in enums:
            one(e.full_name, refl.pool.FindEnumTypeByName, lambda d: {'kind': 'enum', 'values': [v.name for v in d.values]})
    return out


def probe(refl, **request):
    """One raw request on its own stream's state: the files returned, or the error code."""
    try:
        kind = next(iter(request))
        if kind == 'all_extension_numbers_of_type':
            r = refl.ask(**request).all_extension_numbers_response
            return {'ok': True, 'base_type_name': r.base_type_name, 'extension_numbers': list(r.extension_number)}
        return {'ok': True, 'files': refl.files(**request)}
    except ReflectionError as e:
        return {'ok': False, 'code': code_name(e.code), 'message': str(e)}


def probe_load(refl, name):
    try:
        refl.load(name)
        return {'ok': True}
    except Exception as e:  # noqa: BLE001 - reported per file
        return {'ok': False, 'message': str(e)}


def status_details(pool, trailing_metadata):
    """The google.rpc.Status in grpc-status-details-bin, decoded with the types reflection served: code, message
    and each detail (Any) unpacked by its type URL, as JSON with the proto's field names."""
    raw = [v for k, v in (trailing_metadata or ()) if k == 'grpc-status-details-bin']
    if not raw:
        return None
    try:
        status = message_class(pool.FindMessageTypeByName('google.rpc.Status')).FromString(raw[0])
        details = []
        for any_ in status.details:
            type_name = any_.type_url.rpartition('/')[2]
            detail = message_class(pool.FindMessageTypeByName(type_name)).FromString(any_.value)
            details.append({'type': type_name, **to_json(detail)})
        return {'code': status.code, 'message': status.message, 'details': details}
    except Exception as e:  # noqa: BLE001 - a status that does not decode is reported, not fatal
        return {'error': f'{type(e).__name__}: {e}'}


def check_api(channel, package, metadata):
    refl = Reflection(channel, package, metadata)
    try:
        services = sorted(s.name for s in refl.ask(list_services='*').list_services_response.service)
        # on a fresh stream: a file comes with its imports; then a file already sent comes alone
        dedupe = {
            'first': probe(refl, file_containing_symbol=PAYMENT_SERVICE),
            'again': probe(refl, file_by_filename='payment/v1/events.proto'),
        }
        described = describe(refl, services)
        # Google's error model, fetched by name as a client does to decode grpc-status-details-bin
        error_model = {name: probe_load(refl, name) for name in ERROR_MODEL_FILES}
        probes = {
            'timestamp_by_filename': probe(refl, file_by_filename='google/protobuf/timestamp.proto'),
            'unknown_file': probe(refl, file_by_filename='payment/v1/nope.proto'),
            'unknown_symbol': probe(refl, file_containing_symbol='payment.v1.Nope'),
            'field': probe(refl, file_containing_symbol='payment.v1.CreateOrderRequest.tenant_id'),
            'map_entry': probe(refl, file_containing_symbol='payment.v1.CreateOrderRequest.ExtraEntry'),
            'enum_value': probe(refl, file_containing_symbol='payment.v1.ORDER_STATUS_SUCCESS'),
            'extension_numbers': probe(refl, all_extension_numbers_of_type='payment.v1.PayOrder'),
            'extension_numbers_unknown': probe(refl, all_extension_numbers_of_type='payment.v1.Nope'),
            'extension': probe(refl, file_containing_extension={'containing_type': 'payment.v1.PayOrder', 'extension_number': 100}),
        }
        return refl, {'services': services, 'described': described, 'probes': probes, 'dedupe': dedupe,
                      'error_model': error_model, 'received_sha256': refl.sha256}
    finally:
        refl.close()


class Caller:
    """Generic calls by full method name, with messages built from the reflected pool and snake_case JSON."""

    def __init__(self, channel, pool, metadata):
        self.channel, self.pool, self.metadata = channel, pool, metadata
        self.results = []

    def _method(self, name):
        return self.pool.FindMethodByName(f'{PAYMENT_SERVICE}.{name}')

    def __call__(self, name, request_json, step=None):
        method = self._method(name)
        req_cls, res_cls = message_class(method.input_type), message_class(method.output_type)
        result = {'step': step or name, 'method': name, 'request': request_json}
        try:
            request = json_format.Parse(json.dumps(request_json), req_cls())
        except json_format.ParseError as e:
            result.update(code='CLIENT_PARSE_ERROR', details=str(e))
            self.results.append(result)
            return result
        path = f'/{PAYMENT_SERVICE}/{name}'
        kwargs = dict(request_serializer=lambda m: m.SerializeToString(), response_deserializer=res_cls.FromString)
        try:
            if streaming(method)[1]:
                stream = self.channel.unary_stream(path, **kwargs)(request, metadata=self.metadata, timeout=TIMEOUT_S)
                result['responses'] = [to_json(m) for m in stream]
            else:
                result['response'] = to_json(self.channel.unary_unary(path, **kwargs)(request, metadata=self.metadata, timeout=TIMEOUT_S))
            result['code'] = 'OK'
        except grpc.RpcError as e:
            result.update(code=e.code().name, details=e.details())
            decoded = status_details(self.pool, e.trailing_metadata())
            if decoded is not None:
                result['status_details'] = decoded
        self.results.append(result)
        return result


def to_json(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def walk_readme(call, tenant, run):
    """The README's grpcurl lines, in order, in snake_case JSON, creating what later lines use."""
    order1, order2, refund = f'SO-{run}-1', f'SO-{run}-2', f'RF-{run}-1'
    ref1 = {'tenant_id': tenant, 'out_order_no': order1}
    call('CreateOrder', {'tenant_id': tenant, 'out_order_no': order1, 'amount': 8888, 'currency': 'CNY',
                         'subject': 'Coffee beans', 'user_id': 'u-42', 'notify_topic': 'order.pay.notify',
                         'expire_seconds': 1800, 'extra': {'channel': 'strict-client'}})
    pre = call('Prepay', {'order': ref1, 'pay_way': 'PAY_WAY_MOCK'})
    pay_url = pre.get('response', {}).get('mock_pay_url')
    if pay_url:  # the README: open the returned mock_pay_url and press Pay, or curl -X POST it
        with urllib.request.urlopen(urllib.request.Request(pay_url, method='POST', data=b''), timeout=TIMEOUT_S) as r:
            call.results.append({'step': 'pay', 'method': None, 'code': 'HTTP_%d' % r.status})
    call('Query', {'order': ref1, 'sync': True})
    call('Refund', {'order': ref1, 'out_refund_no': refund, 'amount': 1000, 'reason': 'one bag returned'})
    call('QueryRefund', {'tenant_id': tenant, 'out_refund_no': refund, 'sync': True})
    call('ListRefunds', {'tenant_id': tenant, 'out_order_no': order1, 'page_size': 20})
    call('CreateOrder', {'tenant_id': tenant, 'out_order_no': order2, 'amount': 100, 'currency': 'CNY',
                         'subject': 'Tea', 'notify_topic': 'order.pay.notify'}, step='CreateOrder-2')
    call('Cancel', {'order': {'tenant_id': tenant, 'out_order_no': order2}, 'reason': 'buyer left'})
    call('ListPayWays', {'tenant_id': tenant})
    call('ListNotifies', {'order': ref1})
    events = call('ListEvents', {'order': ref1}).get('response', {}).get('events', [])
    call('ReplayEvent', {'tenant_id': tenant, 'event_id': events[0]['event']['event_id'] if events else 'none'})
    call('WatchOrder', {'order': {'tenant_id': tenant, 'out_order_no': order2}})
    call('ListOrders', {'tenant_id': tenant, 'statuses': ['ORDER_STATUS_PARTIAL_REFUNDED'], 'page_size': 20})
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda t: t.strftime('%Y-%m-%dT%H:%M:%SZ')  # noqa: E731
    call('GetStatistics', {'tenant_id': tenant, 'created_from': iso(now - datetime.timedelta(days=1)),
                           'created_to': iso(now + datetime.timedelta(days=1))})
    call('UpdatePayWay', {'tenant_id': tenant, 'pay_way': 'PAY_WAY_MOCK_QR', 'expected_version': 0,
                          'fee_rule': {'rate_bps': 60, 'min_fee': 1}, 'display_order': 1})
    call('ListReconciliationRuns', {'tenant_id': tenant, 'channel': 'alipay', 'day_from': '2026-11-01', 'page_size': 20})
    # and what a caller gets wrong: the codes a program sees
    call('CreateOrder', {'tenant_id': tenant, 'out_order_no': f'SO-{run}-3', 'amount': 0, 'currency': 'CNY',
                         'subject': 'Nothing', 'notify_topic': 'order.pay.notify'}, step='CreateOrder-zero-amount')
    call('Query', {'order': {'tenant_id': tenant, 'out_order_no': f'SO-{run}-none'}}, step='Query-unknown')
    call('QueryRefund', {'tenant_id': tenant, 'out_refund_no': f'RF-{run}-none'}, step='QueryRefund-unknown')
    call('Refund', {'order': ref1, 'out_refund_no': f'RF-{run}-2', 'amount': 99999, 'reason': 'too much'},
         step='Refund-too-much')
    call('ListReconciliationDifferences', {'tenant_id': tenant, 'channel': 'alipay', 'day': '2026-11-30'},
         step='ListReconciliationDifferences-no-run')
    call('StartReconciliation', {'tenant_id': tenant, 'channel': 'alipay', 'day': '2026-11-30'},
         step='StartReconciliation-no-account')


def parse_header(text):
    name, sep, value = text.partition(':')
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"a header is 'name: value', got {text!r}")
    return name.strip().lower(), value.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('address')
    parser.add_argument('--tenant', required=True)
    parser.add_argument('--run', default=datetime.datetime.now().strftime('%H%M%S%f'), help='suffix of order numbers')
    parser.add_argument('--header', '-H', action='append', type=parse_header, default=[], help="'name: value'")
    args = parser.parse_args()
    report = {'apis': {}, 'calls': [], 'unary_methods': [], 'uncalled': []}
    with grpc.insecure_channel(args.address) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
        pools = {}
        for api, package in REFLECTION_APIS.items():
            try:
                refl, report['apis'][api] = check_api(channel, package, args.header)
                pools[api] = refl.pool
            except grpc.RpcError as e:
                report['apis'][api] = {'error': f'{e.code().name}: {e.details()}'}
        pool = pools.get('v1')
        try:
            service = pool.FindServiceByName(PAYMENT_SERVICE) if pool else None
        except KeyError:
            service = None
        if service is None:
            report['calls_error'] = f'{PAYMENT_SERVICE} could not be described through reflection v1'
        else:
            call = Caller(channel, pool, args.header)
            walk_readme(call, args.tenant, args.run)
            report['calls'] = call.results
            unary = [m.name for m in service.methods if not any(streaming(m))]
            report['unary_methods'] = unary
            report['uncalled'] = sorted(set(unary) - {c['method'] for c in call.results})
    json.dump(report, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == '__main__':
    main()
