// Node.js 18 Lambda runtime: speaks the AWS Runtime API (2018-06-01).
//
// Started by /var/runtime/bootstrap with stderr joined to stdout. Log protocol
// (ours, not AWS's): after each invocation's handler settles, and before its
// result is posted, "\x1e\x1eLAMBDA-END <request id>\x1e\x1e\n" is written to
// fd 1 so the host knows it has read all of that invocation's output.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import util from "node:util";
import { pathToFileURL } from "node:url";

const API_PREFIX = "/2018-06-01/runtime";
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || "/var/task";
const [API_HOST, API_PORT] = splitHostPort(process.env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001");
// One keep-alive connection, as the Runtime API is a strict request/response loop.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId; // undefined outside invocations, printed as "undefined" like AWS
let settleCurrent = null; // settles the running invocation on uncaught errors

function splitHostPort(address) {
  const i = address.lastIndexOf(":");
  return i < 0 ? [address, 80] : [address.slice(0, i), Number(address.slice(i + 1))];
}

// --- logging ---------------------------------------------------------------------

function writeOut(text) {
  try {
    fs.writeSync(1, text);
  } catch {
    // stdout gone: nothing useful left to do with logs
  }
}

function patchConsole() {
  // Same line shape as AWS's node18 runtime: <ISO time>\t<request id>\t<LEVEL>\t<message>
  const make = (level) => (...args) => {
    writeOut(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`);
  };
  console.log = console.info = make("INFO");
  console.warn = make("WARN");
  console.error = make("ERROR");
  console.debug = make("DEBUG");
  console.trace = make("TRACE");
  console.fatal = make("FATAL");
}

// --- Runtime API ------------------------------------------------------------------

function request(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        agent,
        host: API_HOST,
        port: API_PORT,
        method,
        path: urlPath,
        headers: payload ? { ...headers, "Content-Length": payload.length } : headers,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function apiCall(method, urlPath, body, headers) {
  try {
    return await request(method, urlPath, body, headers);
  } catch (err) {
    // A stale keep-alive socket is worth one retry; anything else is fatal.
    if (err.code !== "ECONNRESET" && err.code !== "EPIPE") throw err;
    return request(method, urlPath, body, headers);
  }
}

function postError(urlPath, error) {
  const body = JSON.stringify({ errorType: error.errorType, errorMessage: error.errorMessage, trace: error.trace });
  return apiCall("POST", urlPath, body, {
    "Content-Type": "application/json",
    "Lambda-Runtime-Function-Error-Type": error.errorType,
  });
}

// --- errors -------------------------------------------------------------------------

class RuntimeError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

function toErrorResult(err) {
  if (err instanceof Error) {
    const trace = typeof err.stack === "string" ? err.stack.split("\n") : [];
    return { errorType: err.name, errorMessage: err.message, trace };
  }
  // Non-Error throws (`throw "x"`), same as AWS: the type of the thrown value.
  let message;
  try {
    message = typeof err === "string" ? err : JSON.stringify(err);
  } catch {
    message = String(err);
  }
  return { errorType: typeof err, errorMessage: message ?? String(err), trace: [] };
}

function logError(label, error) {
  const record = { errorType: error.errorType, errorMessage: error.errorMessage, stack: error.trace };
  console.error(`${label} \t${JSON.stringify(record)}`);
}

// --- handler loading -------------------------------------------------------------

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

async function loadHandler(fullHandler) {
  // "src/app.handler" -> module root "src/", module "app", handler path "handler"
  const base = path.basename(fullHandler);
  const moduleRoot = fullHandler.slice(0, fullHandler.length - base.length);
  const match = base.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new RuntimeError("Runtime.MalformedHandlerName", "Bad handler");
  const [, moduleName, handlerPath] = match;

  const stem = path.resolve(TASK_ROOT, moduleRoot, moduleName);
  const file = ["", ".js", ".mjs", ".cjs"].map((ext) => stem + ext).find(isFile);
  if (!file) {
    throw new RuntimeError(
      "Runtime.ImportModuleError",
      `Error: Cannot find module '${moduleName}'\nRequire stack:\n- /var/runtime/index.mjs`,
    );
  }

  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new RuntimeError("Runtime.UserCodeSyntaxError", `${err.name}: ${err.message}`);
    }
    if (err?.code === "MODULE_NOT_FOUND" || err?.code === "ERR_MODULE_NOT_FOUND") {
      const e = new RuntimeError("Runtime.ImportModuleError", `Error: ${err.message}`);
      e.stack = `${e.name}: ${e.message}\n${(err.stack || "").split("\n").slice(1).join("\n")}`;
      throw e;
    }
    throw err;
  }

  // Handler path may be nested ("obj.fn"); CommonJS exports may only be on `default`.
  const walk = (root) => handlerPath.split(".").reduce((o, k) => (o == null ? undefined : o[k]), root);
  const fn = walk(mod) ?? walk(mod.default);
  if (fn === undefined || fn === null) {
    throw new RuntimeError("Runtime.HandlerNotFound", `${fullHandler} is undefined or not exported`);
  }
  if (typeof fn !== "function") {
    throw new RuntimeError("Runtime.HandlerNotFound", `${fullHandler} is not a function`);
  }
  return fn;
}

// --- invocation --------------------------------------------------------------------

function makeContext(requestId, headers, settle) {
  const env = process.env;
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  const parse = (v) => (v ? JSON.parse(v) : undefined);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME || "",
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION || "$LATEST",
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"] || "",
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || "128",
    awsRequestId: requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME || "",
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME || "",
    identity: parse(headers["lambda-runtime-cognito-identity"]),
    clientContext: parse(headers["lambda-runtime-client-context"]),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    succeed: (result) => settle(null, result),
    fail: (err) => settle(err ?? new Error("handled"), undefined),
    done: (err, result) => settle(err, result),
  };
}

// Resolves with [error, result] once the handler has returned, resolved,
// rejected, called back, or an uncaught error happened.
function runHandler(handler, event, requestId, headers) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (err, result) => {
      if (settled) return;
      settled = true;
      resolve([err ?? null, result]);
    };
    settleCurrent = settle;
    const context = makeContext(requestId, headers, settle);
    try {
      const ret = handler.length >= 3 ? handler(event, context, settle) : handler(event, context);
      if (ret && typeof ret.then === "function") {
        ret.then((r) => settle(null, r), (e) => settle(e ?? new Error("rejected"), undefined));
      } else if (handler.length < 3) {
        settle(null, ret);
      }
    } catch (err) {
      settle(err, undefined);
    }
  });
}

async function invoke(handler, headers, body) {
  const requestId = headers["lambda-runtime-aws-request-id"];
  currentRequestId = requestId;
  if (headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = headers["lambda-runtime-trace-id"];
  else delete process.env._X_AMZN_TRACE_ID;
  // New credentials of the function's role (our header, not AWS's): in process.env before the
  // handler runs, where the SDK's fromEnv provider reads them again as AWS_CREDENTIAL_EXPIRATION nears.
  const renewed = headers["lambda-runtime-aws-credentials"];
  if (renewed) Object.assign(process.env, JSON.parse(renewed));

  let err = null;
  let payload;
  let event;
  try {
    event = body.length ? JSON.parse(body.toString("utf8")) : null;
  } catch (e) {
    err = new RuntimeError("Runtime.UnmarshalError", `Unable to parse event: ${e.message}`);
  }
  let result;
  if (!err) [err, result] = await runHandler(handler, event, requestId, headers);
  settleCurrent = null;
  if (!err) {
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      err = new RuntimeError("Runtime.MarshalError", `Unable to stringify response body: ${e.message}`);
    }
  }

  const error = err ? toErrorResult(err) : null;
  if (error) logError("Invoke Error", error);
  writeOut(`\x1e\x1eLAMBDA-END ${requestId}\x1e\x1e\n`);
  const urlPath = `${API_PREFIX}/invocation/${requestId}`;
  if (error) await postError(`${urlPath}/error`, error);
  else await apiCall("POST", `${urlPath}/response`, payload, { "Content-Type": "application/json" });
  currentRequestId = undefined;
}

async function main() {
  patchConsole();
  // PID 1 ignores SIGTERM without a handler.
  process.on("SIGTERM", () => process.exit(0));
  process.on("SIGINT", () => process.exit(0));
  const crash = (err, label) => {
    if (settleCurrent) {
      settleCurrent(err, undefined); // reported as this invocation's error
    } else {
      logError(label, toErrorResult(err));
      process.exit(1);
    }
  };
  process.on("uncaughtException", (err) => crash(err, "Uncaught Exception"));
  process.on("unhandledRejection", (reason) => {
    const err = reason instanceof Error ? reason : new RuntimeError("Runtime.UnhandledPromiseRejection", String(reason));
    crash(err, "Unhandled Promise Rejection");
  });

  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || "");
  } catch (err) {
    const error = toErrorResult(err);
    logError("Uncaught Exception", error);
    try {
      await postError(`${API_PREFIX}/init/error`, error);
    } finally {
      process.exit(1);
    }
  }

  for (;;) {
    const res = await apiCall("GET", `${API_PREFIX}/invocation/next`);
    if (res.status !== 200) throw new Error(`GET /invocation/next returned ${res.status}`);
    await invoke(handler, res.headers, res.body);
  }
}

main().catch((err) => {
  logError("Runtime Error", toErrorResult(err));
  process.exit(1);
});
