import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { coalesceWrites, corkForTurn } from '../../src/infra/coalesced-writes';
import { recordWrites } from '../support/socket-writes';

/** What the other end of a loopback connection has received so far. */
let server: Server;
let received: Buffer[] = [];
beforeAll(async () => {
  server = createServer((peer) => peer.on('data', (d) => received.push(d)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function connected(): Promise<Socket> {
  received = [];
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const arrived = async (bytes: number): Promise<string> => {
  while (Buffer.concat(received).length < bytes) await nextTurn();
  return Buffer.concat(received).toString();
};

describe('coalesced writes', () => {
  it('When a stream coalesces its writes, then what is written in one turn leaves in one write, in order', async () => {
    const socket = await connected();
    coalesceWrites(socket);
    const rec = recordWrites(socket);

    socket.write('one,');
    socket.write('two,');
    await Promise.resolve(); // a microtask later is still the same turn
    socket.write('three;');
    await nextTurn();
    socket.write('four');

    expect(await arrived(18)).toBe('one,two,three;four');
    expect(rec.writes.map(String)).toEqual(['one,two,three;', 'four']);
    socket.destroy();
  });

  it('When a stream is corked for the turn twice, then one uncork at the end of the turn sends what it holds', async () => {
    const socket = await connected();
    const rec = recordWrites(socket);

    corkForTurn(socket);
    socket.write('a');
    corkForTurn(socket);
    socket.write('b');
    expect(socket.writableCorked).toBe(1);
    await nextTurn();

    expect(socket.writableCorked).toBe(0);
    expect(await arrived(2)).toBe('ab');
    expect(rec.writes.map(String)).toEqual(['ab']);
    socket.destroy();
  });

  it('When a corked stream is destroyed before the turn ends, then what it held is sent first and the uncork after it is harmless', async () => {
    const socket = await connected();
    coalesceWrites(socket);
    socket.write('last words');
    socket.destroy();
    await nextTurn();

    expect(socket.destroyed).toBe(true);
    expect(await arrived(10)).toBe('last words'); // as the mariadb driver's COM_QUIT before its destroy()
  });

  it('When coalesceWrites is applied twice, then a write is still corked once', async () => {
    const socket = await connected();
    coalesceWrites(socket);
    coalesceWrites(socket);
    socket.write('x');
    expect(socket.writableCorked).toBe(1);
    await nextTurn();
    expect(socket.writableCorked).toBe(0);
    socket.destroy();
  });
});
