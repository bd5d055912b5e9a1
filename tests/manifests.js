#!/usr/bin/env node
// The deployment manifests, checked without a cluster: every Kubernetes object
// against the Kubernetes API schemas (the npm package kubernetes-models, pinned),
// KServe's custom resources against tests/schemas/kserve.json (from KServe's API
// reference) with their containers against Kubernetes' Container schema; then
// against tabserve itself: every flag in the containers' args is one `tabserve
// serve --help` lists, the server starts with exactly those args (paths swapped
// for temporary ones), answers 200 on every probe path at the container port,
// and the grace periods cover preStop and --graceful-timeout.
"use strict";
const fs = require("fs");
const path = require("path");
const os = require("os");
const { spawn, execFileSync } = require("child_process");
const http2 = require("http2");
let yaml, Ajv;
try {
  yaml = require("js-yaml");
  Ajv = require("ajv");
} catch (e) {
  console.log("SKIPPED: ajv or js-yaml is not installed (run npm ci): manifests not validated");
  process.exit(0);
}
const models = {}; // apiVersion -> its kinds (kubernetes-models is ES modules: imported in main)
const ROOT = path.join(__dirname, "..");
const BIN = path.resolve(process.env.BIN || "build/tabserve");
const kserve = JSON.parse(fs.readFileSync(path.join(__dirname, "schemas", "kserve.json"), "utf8"));
let failed = 0;
const check = (ok, what) => {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failed++;
};

function load(dir) {
  return fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".yaml")).sort()
    .flatMap((f) => yaml.loadAll(fs.readFileSync(path.join(ROOT, dir, f), "utf8")).map((doc) => ({ file: `${dir}/${f}`, doc })));
}

const help = execFileSync(BIN, ["serve", "--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).toString() +
  (() => { try { return execFileSync(BIN, ["serve", "--help"], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] }); } catch (e) { return String(e.stderr || ""); } })();
const flags = new Set([...help.matchAll(/(--[a-z][a-z_-]*)/g)].map((m) => m[1]));

const containers = []; // [file, container, pod spec]
function checkObjects() {
for (const { file, doc } of [...load("deploy/kubernetes"), ...load("deploy/kserve")]) {
  const what = `${file}: ${doc.kind} ${doc.metadata && doc.metadata.name}`;
  if (doc.kind === "Kustomization") {
    const missing = doc.resources.filter((r) => !fs.existsSync(path.join(ROOT, "deploy/kubernetes", r)));
    check(missing.length === 0, `${what} lists files that exist ${missing.length ? JSON.stringify(missing) : ""}`);
    const all = fs.readdirSync(path.join(ROOT, "deploy/kubernetes")).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    check(all.every((f) => doc.resources.includes(f)), `${what} includes every manifest beside it`);
    continue;
  }
  if (doc.apiVersion.startsWith("serving.kserve.io/")) {
    const ajv = new Ajv({ allErrors: true });
    const schema = { definitions: kserve.definitions, $ref: `#/definitions/${doc.kind}` };
    const ok = ajv.validate(schema, doc);
    check(ok, `${what} matches KServe's schema ${ok ? "" : ajv.errorsText()}`);
    const broken = JSON.parse(JSON.stringify(doc));
    if (broken.spec.predictor) broken.spec.predictor.model.protocolVersion = "v3";
    else broken.spec.supportedModelFormats = [{ version: "1" }];
    check(!ajv.validate(schema, broken), `${what}: the schema refuses a broken copy (${ajv.errorsText()})`);
    for (const c of (doc.spec.containers || [])) {
      try {
        new models.v1.Container(c).validate();
        check(true, `${what}: container ${c.name} is a valid Kubernetes Container`);
      } catch (e) {
        check(false, `${what}: container ${c.name}: ${e.message}`);
      }
      containers.push([file, c, doc.spec]);
    }
    continue;
  }
  const Model = (models[doc.apiVersion] || {})[doc.kind];
  if (!Model) {
    check(false, `${what}: no Kubernetes schema for ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  try {
    new Model(doc).validate();
    check(true, `${what} is valid against the Kubernetes API schema`);
  } catch (e) {
    check(false, `${what}: ${e.message}`);
  }
  try { /* and the schema does refuse: the same object with a field of the wrong type */
    new Model({ ...JSON.parse(JSON.stringify(doc)), metadata: { name: 7 } }).validate();
    check(false, `${what}: a broken copy was accepted`);
  } catch (e) {
    check(true, `${what}: the schema refuses a broken copy`);
  }
  if (doc.kind === "Deployment") {
    const pod = doc.spec.template.spec;
    for (const c of pod.containers) containers.push([file, c, pod]);
    const sc = pod.securityContext || {};
    check(sc.runAsNonRoot === true && sc.seccompProfile && sc.seccompProfile.type === "RuntimeDefault",
          `${what}: non-root, seccomp RuntimeDefault`);
  }
}

}

// grpc.health.v1.Health/Check as the kubelet's grpc probe calls it: the
// response's status (1: SERVING), or -1. The request message has one string
// field (service = 1), the response one enum (status = 1).
function grpcHealth(port, service) {
  return new Promise((resolve) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on("error", () => resolve(-1));
    const name = Buffer.from(service);
    const msg = name.length ? Buffer.concat([Buffer.from([0x0a, name.length]), name]) : Buffer.alloc(0);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
    const req = client.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check",
                                 "content-type": "application/grpc", te: "trailers" });
    const chunks = [];
    req.on("data", (d) => chunks.push(d));
    req.on("end", () => {
      client.close();
      const body = Buffer.concat(chunks);
      resolve(body.length >= 7 && body[5] === 0x08 ? body[6] : body.length === 5 ? 0 : -1);
    });
    req.on("error", () => resolve(-1));
    req.end(frame);
  });
}

// the containers against tabserve: flags, a real start with their args, the probes
async function tryContainer(file, c, pod) {
  const args = c.args || [];
  const unknown = args.filter((a) => a.startsWith("--") && !flags.has(a.split("=")[0]));
  check(unknown.length === 0, `${file}: every flag of ${c.name} is one tabserve serve --help lists ${unknown.length ? JSON.stringify(unknown) : ""}`);
  const sec = c.securityContext || {};
  check(sec.allowPrivilegeEscalation === false && sec.readOnlyRootFilesystem === true,
        `${file}: ${c.name} has no privilege escalation and a read-only root`);
  const grace = Number((args.find((a) => a.startsWith("--graceful-timeout=")) || "=30").split("=")[1]);
  const preStop = c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.sleep ? c.lifecycle.preStop.sleep.seconds : 0;
  if (pod.terminationGracePeriodSeconds !== undefined)
    check(pod.terminationGracePeriodSeconds > grace + preStop,
          `${file}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${preStop} s + --graceful-timeout ${grace} s`);
  const bind = args.find((a) => a.startsWith("--bind=") || a.startsWith("-b"));
  const port = c.ports && c.ports[0].containerPort;
  check(bind && bind.endsWith(":" + port), `${file}: ${c.name} binds the port it declares (${bind}, ${port})`);
  // start it with these args: the repository and KServe's /mnt/models as temporary dirs
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tabserve-manifest-"));
  fs.mkdirSync(path.join(tmp, "titanic", "1"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, "models", "titanic.json"), path.join(tmp, "titanic", "1", "model.json"));
  const free = 20000 + Math.floor(Math.random() * 20000), freeGrpc = free + 1;
  const grpcBind = args.find((a) => a.startsWith("--grpc-bind="));
  const grpcPort = grpcBind && Number(grpcBind.split(":").pop());
  const real = args.map((a) => a.replace("/mnt/models", path.join(tmp, "titanic", "1")).replace("/models", tmp)
    .replace("{{.Name}}", "titanic").replace(/^(--bind=.*):8080$/, "$1:" + free)
    .replace(/^(--grpc-bind=.*):\d+$/, "$1:" + freeGrpc).replace(/^--access-logfile=-$/, "--access-logfile="));
  const server = spawn(BIN, real, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  server.stderr.on("data", (d) => (log += d));
  const probes = [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean);
  for (const p of probes.filter((p) => p.grpc))
    check(p.grpc.port === grpcPort && (c.ports || []).some((q) => q.containerPort === grpcPort),
          `${file}: the gRPC probe's port ${p.grpc.port} is the declared --grpc-bind port (${grpcPort})`);
  try {
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      try { up = (await fetch(`http://127.0.0.1:${free}/healthz`)).ok; } catch (e) { await new Promise((r) => setTimeout(r, 25)); }
    }
    check(up, `${file}: tabserve ${real.join(" ")} starts ${up ? "" : log}`);
    for (const p of probes) {
      if (p.grpc) {
        const status = await grpcHealth(freeGrpc, p.grpc.service || "");
        check(status === 1, `${file}: the gRPC probe's Check answers SERVING (${status})`);
        continue;
      }
      const r = await fetch(`http://127.0.0.1:${free}${p.httpGet.path}`);
      check(r.status === 200, `${file}: probe ${p.httpGet.path} answers 200 (${r.status})`);
    }
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => server.on("exit", r));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

(async () => {
  try {
    for (const v of ["apps/v1", "v1", "autoscaling/v2", "policy/v1"]) models[v] = await import("kubernetes-models/" + v);
  } catch (e) {
    console.log("SKIPPED: kubernetes-models is not installed (run npm ci): manifests not validated");
    return;
  }
  checkObjects();
  for (const [file, c, pod] of containers) await tryContainer(file, c, pod);
  console.log(failed ? `manifests: ${failed} failed` : "manifests: all passed");
  process.exitCode = failed ? 1 : 0;
})();
