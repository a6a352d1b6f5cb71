import { SqlError } from 'mariadb';
import { isTransientDbError, retryConflicts } from '../../src/repo/tx';

/** An error as the mariadb driver makes it (SqlError: errno, sqlState, fatal), with its message. */
const sqlError = (errno: number, sqlState: string, fatal: boolean, message: string) =>
  new SqlError(message, undefined, fatal, undefined, sqlState, errno);

describe('which database errors a caller may simply retry', () => {
  it.each([
    {
      what: 'a deadlock victim (also Galera certification)',
      err: sqlError(1213, '40001', false, 'Deadlock found when trying to get lock'),
      transient: true,
    },
    { what: 'a lock wait timeout', err: sqlError(1205, 'HY000', false, 'Lock wait timeout exceeded'), transient: true },
    { what: 'no pool connection in time', err: sqlError(45028, 'HY000', false, 'retrieve connection from pool timeout'), transient: true },
    {
      what: 'a socket closed under a statement',
      err: sqlError(45009, '08S01', true, 'socket has unexpectedly been closed'),
      transient: true,
    },
    {
      what: 'a connection already closed',
      err: sqlError(45001, '08S01', true, 'Cannot execute new commands: connection closed'),
      transient: true,
    },
    { what: 'a server shutting down', err: sqlError(1053, '08S01', true, 'Server shutdown in progress'), transient: true },
    {
      what: 'a Galera node not ready',
      err: sqlError(1047, '08S01', false, 'WSREP has not yet prepared node for application use'),
      transient: true,
    },
    {
      what: 'a duplicate key whose value says "deadlock"',
      err: sqlError(1062, '23000', false, "Duplicate entry 'a-deadlock-b' for key 'uk'"),
      transient: false,
    },
    {
      what: 'a packet over max_allowed_packet',
      err: sqlError(1153, '08S01', true, "Got a packet bigger than 'max_allowed_packet' bytes"),
      transient: false,
    },
    { what: 'a driver protocol error', err: sqlError(45011, '08S01', true, 'unexpected packet'), transient: false },
    { what: 'an unknown command (a protocol bug, not Galera)', err: sqlError(1047, '08S01', false, 'Unknown command'), transient: false },
  ])('$what: transient $transient', ({ err, transient }) => {
    expect(isTransientDbError(err)).toBe(transient);
  });

  it('When an autocommit statement fails on a duplicate key whose value says "deadlock", then it is not tried again', async () => {
    let tries = 0;
    const failing = () => {
      tries++;
      return Promise.reject(sqlError(1062, '23000', false, "Duplicate entry 'lock wait timeout' for key 'uk'"));
    };
    await expect(retryConflicts(failing)).rejects.toMatchObject({ errno: 1062 });
    expect(tries).toBe(1);
  });
});
