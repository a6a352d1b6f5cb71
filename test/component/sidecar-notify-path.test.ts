import { request } from 'node:http';
import { buildSignedHeaders } from '../../src/channels/mock/signature';
import { MOCK_SECRET, newTenant, startHarness, type Harness } from '../support/harness';

/**
 * The notify routes are served without Express (src/http/sidecar.ts), and answer what Express answered: the same
 * paths reach a channel (any case, a trailing slash, a query), and every refusal has the same status, type and body.
 * 'the notify path' passed against the Express route before the change and passes after it. 'the sidecar server'
 * failed before its fix (Express's listen left a one-shot error listener; ours first removed its own).
 */
let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 't-sidecar');
});
afterAll(() => h.close());

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

/** One request with the path exactly as given (fetch would normalise it). */
function send(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Answer> {
  const { hostname, port } = new URL(h.notifyBaseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method, path, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = 'application/json; charset=utf-8';
const refusal = (status: number, code: string, message: string): Answer => ({
  status,
  type: JSON_TYPE,
  body: JSON.stringify({ code, message }),
});
const signedJson = (body: string) => ({ 'content-type': 'application/json', ...buildSignedHeaders(MOCK_SECRET, body) });

describe('the notify path', () => {
  it('When a notify path differs only in case, a trailing slash or a query, then it reaches the channel', async () => {
    const garbage = 'not json'; // signed, so the mock channel's parser refuses it in its own dialect
    for (const path of [`/notify/mock/${tenant}/web`, `/NOTIFY/mock/${tenant}/web/`, `/Notify/mock/${tenant}/web?retry=1`]) {
      const answer = await send('POST', path, signedJson(garbage), garbage);
      expect({ path, ...answer, body: JSON.parse(answer.body) as unknown }).toEqual({
        path,
        status: 500,
        type: JSON_TYPE,
        body: { code: 'FAIL', message: 'signature verification failed' },
      });
    }
  });

  it('When a notify is refused before its channel sees it, then the status, type and body are the ones Express gave', async () => {
    const body = '{}';
    const json = { 'content-type': 'application/json' };
    expect(await send('POST', `/notify/nochannel/${tenant}/web`, json, body)).toEqual(refusal(404, 'NOT_FOUND', 'no such channel'));
    expect(await send('POST', `/notify/MOCK/${tenant}/web`, json, body)).toEqual(refusal(404, 'NOT_FOUND', 'no such channel'));
    const noTenant = refusal(404, 'NOT_FOUND', 'no such tenant or terminal type');
    expect(await send('POST', '/notify/mock/bad%20tenant/web', json, body)).toEqual(noTenant);
    expect(await send('POST', `/notify/mock/${tenant}/no%2Fsuch`, json, body)).toEqual(noTenant);
    expect(await send('POST', '/notify/mock/%E0%A4%A/web', json, body)).toEqual(refusal(400, 'BAD_REQUEST', 'error'));
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(await send('POST', `/notify/mock/${tenant}/web`, form, 'a=1')).toEqual(
      refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected application/json'),
    );
    expect(await send('POST', `/notify/mock/${tenant}/web`, {}, '')).toEqual(
      refusal(415, 'UNSUPPORTED_MEDIA_TYPE', 'expected application/json'),
    );
    const huge = 'x'.repeat(70 * 1024);
    expect(await send('POST', `/notify/mock/${tenant}/web`, signedJson(huge), huge)).toEqual(
      refusal(413, 'PAYLOAD_TOO_LARGE', 'entity.too.large'),
    );
  });

  it('When a request on a notify path is not a notify POST, then it is the 404 Express gives any unknown route', async () => {
    for (const [method, path] of [
      ['GET', `/notify/mock/${tenant}/web`],
      ['PUT', `/notify/mock/${tenant}/web`],
      ['POST', `/notify/mock/${tenant}`],
      ['POST', `/notify/mock/${tenant}/web/extra`],
    ]) {
      const answer = await send(method, path, { 'content-type': 'application/json' }, method === 'GET' ? '' : '{}');
      expect({ method, path, status: answer.status, type: answer.type }).toEqual({
        method,
        path,
        status: 404,
        type: 'text/html; charset=utf-8',
      });
      expect(answer.body).toContain(`Cannot ${method} `);
    }
  });
});

describe('the sidecar server', () => {
  it('When the listening server reports an error (an accept that failed), then it is logged and the sidecar serves on', async () => {
    const errors = jest.spyOn(h.service.deps.log, 'error');
    try {
      const failure = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
      expect(h.service.http.emit('error', failure)).toBe(true); // false: nobody listened, and Node would have thrown
      expect(errors).toHaveBeenCalledWith({ err: failure }, 'sidecar server error');
      expect((await send('GET', '/healthz')).status).toBe(200);
    } finally {
      errors.mockRestore();
    }
  });
});
