import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BSON, type Document } from 'mongodb';
import { OpsError } from '../../core/errors.js';
import { createMongoCaseStore } from '../../adapters/store/mongo/mongo-case-store.js';
import { REPLICA_SET_REQUIRED } from '../../adapters/store/mongo/mongo-mapping.js';

/**
 * Start-up checks of the Mongo store that need no MongoDB server: the real driver talks to a
 * local TCP server that speaks just enough of the wire protocol to pass as a standalone mongod
 * (it answers the handshake and `hello` without `setName`, and `{ok: 1}` to anything else).
 */

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

/** What a standalone mongod 7 answers to `hello`: no `setName`, so no transactions. */
function standaloneHello(): Document {
  return {
    helloOk: true,
    isWritablePrimary: true,
    ismaster: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: 1,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  };
}

function answer(command: Document): Document {
  const name = Object.keys(command)[0] ?? '';
  if (['hello', 'ismaster', 'isMaster'].includes(name)) return standaloneHello();
  return { ok: 1 };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeInt32LE(length, 0);
  buf.writeInt32LE(requestId, 4);
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
  return buf;
}

/** The reply to one wire message, or null for message kinds this fake does not speak. */
function reply(message: Buffer, nextId: () => number): Buffer | null {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_QUERY) {
    // flags(4) fullCollectionName(cstring) skip(4) return(4) query(document)
    const nameEnd = message.indexOf(0, 20);
    const docStart = nameEnd + 1 + 8;
    const command = BSON.deserialize(message.subarray(docStart, docStart + message.readInt32LE(docStart)));
    const doc = BSON.serialize(answer(command));
    const body = Buffer.alloc(20);
    body.writeInt32LE(0, 0); // responseFlags
    body.writeBigInt64LE(0n, 4); // cursorID
    body.writeInt32LE(0, 12); // startingFrom
    body.writeInt32LE(1, 16); // numberReturned
    return Buffer.concat([header(16 + body.length + doc.length, nextId(), requestId, OP_REPLY), body, doc]);
  }
  if (opCode === OP_MSG) {
    // flagBits(4), then section kind 0 (one byte) + the command document
    const command = BSON.deserialize(message.subarray(21, 21 + message.readInt32LE(21)));
    const doc = BSON.serialize(answer(command));
    const body = Buffer.from([0, 0, 0, 0, 0]); // flagBits 0, section kind 0
    return Buffer.concat([header(16 + body.length + doc.length, nextId(), requestId, OP_MSG), body, doc]);
  }
  return null;
}

async function startStandaloneMongod(): Promise<{ port: number; close: () => Promise<void> }> {
  let id = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        const out = reply(pending.subarray(0, length), () => ++id);
        pending = pending.subarray(length);
        if (out) socket.write(out);
        else socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('connect refuses a standalone mongod with the one-line replica-set error', async () => {
  const mongod = await startStandaloneMongod();
  try {
    const store = await createMongoCaseStore({
      uri: `mongodb://127.0.0.1:${mongod.port}/?directConnection=true&serverSelectionTimeoutMS=5000`,
      dbName: 'opsloop_connect_test',
    });
    assert.equal(store.name, 'mongodb');
    assert.equal(store.ownsConnection, true);
    await assert.rejects(store.connect(), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, REPLICA_SET_REQUIRED);
      return true;
    });
    await store.close();
  } finally {
    await mongod.close();
  }
});

test('an unreachable MongoDB is reported as OPS_STORE_UNAVAILABLE', async () => {
  const port = await closedPort();
  const store = await createMongoCaseStore({ uri: `mongodb://127.0.0.1:${port}/opsloop?serverSelectionTimeoutMS=300` });
  await assert.rejects(store.connect(), (error: unknown) => {
    assert.ok(error instanceof OpsError, `expected OpsError, got ${String(error)}`);
    assert.equal(error.code, 'OPS_STORE_UNAVAILABLE');
    assert.match(error.message, /MongoDB is unavailable/);
    return true;
  });
  await assert.rejects(store.ping(), (error: unknown) => error instanceof OpsError && error.code === 'OPS_STORE_UNAVAILABLE');
  await store.close();
});
