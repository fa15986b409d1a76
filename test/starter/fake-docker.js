#!/usr/bin/env node
/*
 * A stand-in for the `docker` commands of the serving image build's contract test, so that it runs without Docker:
 *
 * - `docker build --file F ... --tag T .` "builds" F: each COPY copies from the build context (as .dockerignore
 *   lets it) into a directory that stands for the image's file system; ENV, WORKDIR and ENTRYPOINT are kept. Any
 *   other instruction but ARG, FROM, EXPOSE, LABEL and CMD fails: it cannot be imitated.
 * - `docker run -d --name N -p 8080:8080 T serve` runs the image's ENTRYPOINT with the argument, in that directory:
 *   absolute paths in the entry point, ENV and WORKDIR point into it, `python` is `python3`, and the server gets
 *   PORT and HOST so that it listens on FAKE_DOCKER_PORT of 127.0.0.1 (the port mapping; the test's `curl` maps
 *   localhost:8080 to it).
 * - `docker inspect -f '{{.State.Running}}' N`, `docker logs N`, `docker rm -f N`, `docker login`.
 *
 * State lives under FAKE_STATE; every call is appended to FAKE_LOG.
 */
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const state = process.env.FAKE_STATE;
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, `docker ${args.join(' ')}\n`);

const fail = (message) => {
  process.stderr.write(`fake docker: ${message}\n`);
  process.exit(2);
};
const imageDir = (tag) => path.join(state, 'images', tag.replace(/[^A-Za-z0-9_.-]/g, '_'));
const containerFile = (name) => path.join(state, 'containers', `${name}.json`);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The last matching .dockerignore pattern decides; `*` matches everything, others match a path or its parents. */
function ignored(context, relative) {
  const file = path.join(context, '.dockerignore');
  if (!fs.existsSync(file)) return false;
  let result = false;
  for (const raw of fs.readFileSync(file, 'utf-8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).replace(/\/$/, '');
    if (/[?[\]]|\*./.test(pattern)) fail(`.dockerignore pattern '${line}' is beyond this fake`);
    if (pattern === '*' || relative === pattern || relative.startsWith(`${pattern}/`)) result = !negated;
  }
  return result;
}

function copyInto(context, source, destination) {
  const from = path.join(context, source);
  if (!fs.existsSync(from) || ignored(context, path.relative(context, from))) {
    fail(`COPY ${source}: not in the build context (missing, or excluded by .dockerignore)`);
  }
  if (fs.statSync(from).isDirectory()) {
    for (const entry of fs.readdirSync(from)) copyInto(context, path.join(source, entry), path.join(destination, entry));
  } else {
    fs.mkdirSync(path.dirname(destination), { recursive: true });
    fs.copyFileSync(from, destination);
  }
}

function build() {
  const file = args[args.indexOf('--file') + 1];
  const tag = args[args.indexOf('--tag') + 1];
  const context = path.resolve(args[args.length - 1]);
  const root = path.join(imageDir(tag), 'root');
  fs.rmSync(imageDir(tag), { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const config = { env: {}, workdir: '/', entrypoint: undefined };
  const text = fs.readFileSync(path.join(context, file), 'utf-8').replace(/\\\n/g, ' ');
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [instruction, ...rest] = line.split(/\s+/);
    const value = line.slice(instruction.length).trim();
    switch (instruction.toUpperCase()) {
      case 'ARG': case 'FROM': case 'EXPOSE': case 'LABEL': case 'CMD': break;
      case 'WORKDIR': config.workdir = path.posix.resolve(config.workdir, value); break;
      case 'ENV':
        for (const pair of rest) {
          const [name, ...parts] = pair.split('=');
          if (parts.length === 0) fail(`ENV ${value}: only the NAME=value form is imitated`);
          config.env[name] = parts.join('=');
        }
        break;
      case 'COPY': {
        const paths = rest.filter((p) => !p.startsWith('--'));
        if (paths.length < 2 || paths.some((p) => p.startsWith('['))) fail(`COPY ${value}: only COPY <src>... <dest> is imitated`);
        const destination = path.posix.resolve(config.workdir, paths[paths.length - 1]);
        for (const source of paths.slice(0, -1)) {
          const target = destination.endsWith('/') || paths.length > 2 || paths[paths.length - 1].endsWith('/')
            ? path.posix.join(destination, fs.statSync(path.join(context, source)).isDirectory() ? '' : path.basename(source))
            : destination;
          copyInto(context, source, path.join(root, target));
        }
        break;
      }
      case 'ENTRYPOINT': config.entrypoint = JSON.parse(value); break;
      default: fail(`${instruction} cannot be imitated without Docker`);
    }
  }
  if (!Array.isArray(config.entrypoint)) fail('the Dockerfile has no ENTRYPOINT in exec form: SageMaker runs `docker run <image> serve`');
  fs.writeFileSync(path.join(imageDir(tag), 'config.json'), JSON.stringify(config));
}

function run() {
  const name = args[args.indexOf('--name') + 1];
  const rest = args.slice(args.indexOf('-p') + 2);
  const [tag, ...command] = rest;
  const directory = imageDir(tag);
  if (!fs.existsSync(path.join(directory, 'config.json'))) fail(`no image ${tag}: build it first`);
  const config = JSON.parse(fs.readFileSync(path.join(directory, 'config.json'), 'utf-8'));
  const root = path.join(directory, 'root');
  const inImage = (value) => (value.startsWith('/') ? path.join(root, value) : value);
  const [program, ...entryArgs] = config.entrypoint;
  const env = { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: process.env.FAKE_DOCKER_PORT };
  for (const [key, value] of Object.entries(config.env)) env[key] = inImage(value);
  const log = path.join(state, 'containers', `${name}.log`);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  const out = fs.openSync(log, 'a');
  const child = spawn(program === 'python' ? 'python3' : inImage(program), [...entryArgs.map(inImage), ...command], {
    cwd: inImage(config.workdir), env, detached: true, stdio: ['ignore', out, out],
  });
  fs.writeFileSync(containerFile(name), JSON.stringify({ pid: child.pid, log }));
  child.unref();
  process.stdout.write('0123456789ab\n');
}

function remove() {
  const name = args[args.length - 1];
  if (!fs.existsSync(containerFile(name))) fail(`no such container: ${name}`);
  const { pid } = JSON.parse(fs.readFileSync(containerFile(name), 'utf-8'));
  if (alive(pid)) process.kill(-pid, 'SIGKILL');
  fs.rmSync(containerFile(name));
}

fs.mkdirSync(path.join(state, 'containers'), { recursive: true });
switch (args[0]) {
  case 'login': fs.readFileSync(0); break;
  case 'build': build(); break;
  case 'run': run(); break;
  case 'inspect': {
    const file = containerFile(args[args.length - 1]);
    process.stdout.write(`${fs.existsSync(file) && alive(JSON.parse(fs.readFileSync(file, 'utf-8')).pid)}\n`);
    break;
  }
  case 'logs': {
    const file = containerFile(args[args.length - 1]);
    if (fs.existsSync(file)) process.stdout.write(fs.readFileSync(JSON.parse(fs.readFileSync(file, 'utf-8')).log, 'utf-8'));
    break;
  }
  case 'rm': remove(); break;
  default: fail(`unexpected docker call: ${args.join(' ')}`);
}
