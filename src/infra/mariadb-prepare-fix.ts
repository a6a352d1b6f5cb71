/**
 * A fix for mariadb 3.4.5 (the version @prisma/adapter-mariadb pins; 3.5.4, the newest, has the same code). On a
 * pipelining connection, a statement run with execute() whose prepared form is not in the connection's cache is
 * sent as COM_STMT_PREPARE immediately followed by COM_STMT_EXECUTE of statement id −1, which the server reads as
 * "the statement this connection prepared last". When the server refuses the PREPARE because the whole server holds
 * max_prepared_stmt_count statements (16,382 by default), it leaves that "last" statement as it was (it clears it
 * after a PREPARE that fails to parse), so the EXECUTE runs the connection's previous prepared statement with the
 * new statement's parameters. The caller sees error 1461 while, say, the UPDATE prepared before it ran again with
 * another statement's values; a SELECT's rows arrive where the driver expects none and its parser throws inside the
 * socket's data handler. test/component/prepare-refused.test.ts shows both on a server of its own.
 *
 * The driver's own commands still do the work, in the order they were issued; only the EXECUTE that follows a
 * PREPARE now waits for the PREPARE's answer before it is written, carrying the statement's real id, and holds the
 * connection's send queue meanwhile (the mechanism the driver uses while it streams a parameter), so nothing issued
 * after it overtakes it. If the PREPARE failed, a COM_PING goes in the EXECUTE's place: the server answers it, as
 * the EXECUTE's reply was awaited, and nothing runs. A prepared-statement cache hit is sent at once, as before; a
 * miss (once per statement text per connection) waits one round trip before its EXECUTE and what follows it.
 * Commands that have not started when the connection is lost (a held EXECUTE and all behind it) get its error too.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
interface Command {
  prepare?: unknown;
  sending?: boolean;
  onPacketReceive?: unknown;
  start: (this: Command, out: unknown, opts: unknown, info: unknown) => void;
  successEnd: (this: Command, value: unknown) => void;
  throwError: (this: Command, err: unknown, info: unknown) => void;
  reject?: unknown;
  once(event: 'end', listener: () => void): void;
  emit(event: 'send_end'): void;
}
interface CommandParam {
  executeCommand?: Command;
}
interface Output {
  fastFlush(cmd: Command, packet: Uint8Array): void;
}
interface DriverConnection {
  status: number;
  info: unknown;
  receiveQueue: { shift(): Command | undefined };
  socketErrorDispatchToQueries: (this: DriverConnection, err: unknown) => boolean;
  addCommand: (this: DriverConnection, cmd: Command, expectResponse: boolean) => void;
  prepareExecute: (this: DriverConnection, cmdParam: CommandParam, resolve: unknown, reject: unknown) => void;
}

const PING = new Uint8Array([1, 0, 0, 0, 0x0e]); // one packet, sequence 0, length 1: COM_PING

let applied = false;

export function fixDriverPipelinedPrepare(): void {
  if (applied) return;
  applied = true;
  const { version } = require('mariadb/package.json') as { version: string };
  // Written against 3.4.5's internals; on another version prepare-refused.test.ts says whether it is still needed.
  if (version !== '3.4.5') return;
  const Connection = require('mariadb/lib/connection.js') as { prototype: DriverConnection };
  const Ping = require('mariadb/lib/cmd/ping.js') as { prototype: { readPingResponsePacket: unknown } };
  const { Status } = require('mariadb/lib/const/connection_status.js') as { Status: { CLOSING: number } };
  const proto = Connection.prototype;
  const issue = proto.prepareExecute;
  if (
    typeof proto.socketErrorDispatchToQueries !== 'function' ||
    typeof issue !== 'function' ||
    typeof Ping.prototype.readPingResponsePacket !== 'function'
  ) {
    throw new Error('mariadb 3.4.5 without socketErrorDispatchToQueries, prepareExecute or Ping: the prepare fix cannot apply');
  }

  /** Makes exec, the EXECUTE the driver pipelines behind prep (its PREPARE), wait for prep's answer; before either is added. */
  function holdUntilPrepared(conn: DriverConnection, prep: Command, exec: Command): void {
    let answered = false;
    let resume: (() => void) | undefined;
    const prepared = prep.successEnd;
    prep.successEnd = function (this: Command, value: unknown): void {
      exec.prepare ??= value; // a PREPARE found in the cache when it was sent does not set it itself
      prepared.call(this, value);
    };
    prep.once('end', () => {
      answered = true; // with exec.prepare set if, and only if, the PREPARE succeeded
      resume?.();
    });
    const start = exec.start;
    exec.start = function (this: Command, out: unknown, opts: unknown, info: unknown): void {
      const send = (): void => {
        this.sending = false;
        if (this.prepare) {
          try {
            return start.call(this, out, opts, info); // writes the real id, then emits send_end
          } catch (err) {
            // A parameter it cannot encode: issued at once, the caller's promise would have rejected. Later, it
            // would throw in the socket's data handler; rejected here, the command ends unsent (the partial
            // packet is dropped by the next one's start) and the queue goes on.
            this.throwError(err, info);
            this.emit('send_end');
            return;
          }
        }
        // The PREPARE failed and its error is the caller's: a COM_PING takes the EXECUTE's place (nothing is
        // written on a closing connection, whose error handling settles this command).
        if (conn.status < Status.CLOSING) {
          this.onPacketReceive = Ping.prototype.readPingResponsePacket;
          (out as Output).fastFlush(this, PING);
        }
        this.emit('send_end');
      };
      if (answered) return send();
      this.sending = true; // the driver keeps it at the head of the send queue until send_end
      resume = send;
    };
  }

  // The driver hands a lost connection's error only to commands that started (have a packet reader); it had no
  // others on a pipelining connection, but an EXECUTE held above, and everything issued behind it, has not started:
  // left out, their promises would never settle (a read lane would keep its permit for good). Every command still
  // unsettled gets the error, in order; one that ended already (a PREPARE answered from the cache) is skipped.
  proto.socketErrorDispatchToQueries = function dispatchToAll(this: DriverConnection, err: unknown): boolean {
    let thrown = false;
    for (let cmd = this.receiveQueue.shift(); cmd; cmd = this.receiveQueue.shift()) {
      if (!cmd.onPacketReceive && !cmd.reject) continue;
      thrown = true;
      setImmediate(cmd.throwError.bind(cmd, err, this.info));
    }
    return thrown;
  };

  proto.prepareExecute = function prepareThenExecute(this: DriverConnection, cmdParam, resolve, reject): void {
    const add = this.addCommand;
    let hooked = false;
    this.addCommand = (cmd, expectResponse) => {
      // Set only when the driver pipelines a PREPARE and its EXECUTE: the PREPARE is added first, and may be
      // answered from the cache as it is added, so both are hooked before it is.
      const exec = cmdParam.executeCommand;
      if (exec && cmd !== exec && !hooked) {
        hooked = true;
        holdUntilPrepared(this, cmd, exec);
      }
      add.call(this, cmd, expectResponse);
    };
    try {
      issue.call(this, cmdParam, resolve, reject);
    } finally {
      this.addCommand = add;
    }
  };
}
