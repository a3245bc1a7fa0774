// An example kolhost platform plugin in JavaScript: Douyin push deliveries.
//
// Verifies `event-sign = md5(app_key + body + app_secret)` and turns tag 101 (order paid) into
// an `order-notice` and tag 206 (refund succeeded) into an `order-refunded`; other tags give no
// event. Reads `app_key` from the plugin's config and `app_secret` from its secrets, so its
// manifest grants `config` only. componentize-js also imports `wasi:http` (for `fetch`), which
// the host links to stubs that refuse every call: use `kolhost:plugin/http` to reach a platform.
//
// Build (see plugins/README.md):
//   componentize-js app.js --wit ../../wit/since_v0.2.0 -n platform -o js_platform.wasm

import { get, getSecret } from "kolhost:plugin/config@0.2.0";
import { md5Hex } from "./md5.js";

const REPLY = {
  status: 200,
  contentType: "application/json",
  body: new TextEncoder().encode('{"code":0,"msg":"success"}'),
};

const fail = (tag, message) => ({ tag, val: message });

// Douyin's ids are integers of up to 19 digits, beyond the 53 bits a JavaScript number holds
// exactly: integer literals of 16 digits or more (outside strings) are read as strings.
function parseJson(text) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/[-0-9]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j])) j++;
      const literal = text.slice(i, j);
      out += /^-?[0-9]{16,}$/.test(literal) ? `"${literal}"` : literal;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

function header(delivery, name) {
  const found = delivery.headers.find(([k]) => k === name);
  return found === undefined ? undefined : found[1].trim();
}

function credentials() {
  const key = get("app_key");
  if (key === undefined) throw fail("config", "app_key is not set");
  const secret = getSecret("app_secret");
  if (secret === undefined) throw fail("config", "secret app_secret is not set");
  return [key, secret];
}

function rfc3339(unixSeconds) {
  return new Date(Number(unixSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function fen(data, field) {
  const v = Number(data[field]);
  if (!Number.isInteger(v) || v < 0) throw fail("malformed", `${field} is not a non-negative integer`);
  return BigInt(v);
}

function toEvent(message) {
  const tag = String(message.tag).trim();
  const data = parseJson(message.data);
  let body;
  if (tag === "101") {
    body = {
      tag: "order-notice",
      val: {
        platformOrderId: String(data.p_id),
        subOrderIds: (data.s_ids ?? []).map(String),
        paidFen: fen(data, "pay_amount"),
        paidAt: rfc3339(data.pay_time),
      },
    };
  } else if (tag === "206") {
    const sub = String(data.s_id ?? "0");
    body = {
      tag: "order-refunded",
      val: {
        platformOrderId: String(data.p_id),
        subOrderId: sub === "0" ? undefined : sub,
        refundId: String(data.aftersale_id),
        refundedFen: fen(data, "refund_amount"),
        refundedAt: rfc3339(data.success_time ?? data.update_time),
      },
    };
  } else {
    return undefined;
  }
  return { key: String(message.msg_id), body, platformStatus: tag };
}

export const platformApi = {
  describe() {
    return {
      name: "js-platform",
      version: "0.1.0",
      platform: "douyin",
      description: "Example in JavaScript: Douyin push deliveries (tags 101 and 206)",
    };
  },

  verifyWebhook(delivery) {
    const [key, secret] = credentials();
    const appId = header(delivery, "app-id");
    if (appId !== undefined && appId !== key) {
      throw fail("unauthorized", `the delivery is for app-id \`${appId}\``);
    }
    const sign = header(delivery, "event-sign");
    if (sign === undefined) throw fail("unauthorized", "the event-sign header is missing");
    const method = (header(delivery, "sign-method") ?? "md5").toLowerCase();
    if (method !== "md5") throw fail("unauthorized", `sign-method \`${method}\` is not supported`);
    const enc = new TextEncoder();
    const signed = new Uint8Array([...enc.encode(key), ...delivery.body, ...enc.encode(secret)]);
    if (md5Hex(signed) !== sign.toLowerCase()) {
      throw fail("unauthorized", "event-sign does not match md5(app_key + body + app_secret)");
    }
  },

  parseWebhook(delivery) {
    let messages;
    try {
      messages = parseJson(new TextDecoder().decode(delivery.body));
    } catch (e) {
      throw fail("malformed", `the body is not JSON: ${e}`);
    }
    if (!Array.isArray(messages)) throw fail("malformed", "the body is not a JSON array");
    const events = [];
    for (const m of messages) {
      let e;
      try {
        e = toEvent(m);
      } catch (err) {
        if (err && err.tag) throw err;
        throw fail("malformed", `message ${m && m.msg_id}: ${err}`);
      }
      if (e !== undefined) events.push(e);
    }
    return { events, reply: REPLY };
  },

  poll(_cursor) {
    return { events: [], nextCursor: undefined, receipt: undefined };
  },

  confirm(_receipt) {},
};
