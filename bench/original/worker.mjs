// worker.mjs: the original architecture's Web Worker, as a Node worker thread: it owns
// the plugin instances and answers {id, op, ...} messages with JSON text.
import { parentPort } from "node:worker_threads";
import { engine, Instance } from "./runtime.mjs";

const Q = await engine();
const instances = new Map();
parentPort.on("message", (m) => {
  let reply;
  try {
    if (m.op === "load") {
      const inst = new Instance(Q, m.code);
      instances.set(m.instanceId, inst);
      reply = { id: m.id, ok: inst.take() };
    } else if (m.op === "render") {
      reply = { id: m.id, ok: instances.get(m.instanceId).render(m.widget, m.state, m.global) };
    } else if (m.op === "event") {
      reply = { id: m.id, ok: instances.get(m.instanceId).event(m.widget, m.handler, m.state, m.global) };
    } else if (m.op === "unload") {
      instances.get(m.instanceId).dispose();
      instances.delete(m.instanceId);
      reply = { id: m.id, ok: "true" };
    }
  } catch (e) {
    reply = { id: m.id, error: String(e) };
  }
  parentPort.postMessage(reply);
});
parentPort.postMessage({ ready: true });
