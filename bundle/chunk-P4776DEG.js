import {
  DataError,
  EX,
  NetmonError,
  fileError
} from "./chunk-F6H2ZAXR.js";

// lib/timestamp.ts
var pad = (n) => String(n).padStart(2, "0");
function formatTimestamp(d) {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())}-${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
var STAMP = /^(\d{4})\/(\d{2})\/(\d{2})-(\d{2}):(\d{2}):(\d{2})$/;
function isTimestamp(text) {
  const m = STAMP.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 60) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d >= 1 && d <= days;
}

// lib/local_time.ts
var MINUTE = 6e4;
var DAY = 864e5;
function offsetAt(epoch) {
  return -new Date(epoch).getTimezoneOffset() * MINUTE;
}
function wallToEpoch(naive, hint) {
  const before = offsetAt(naive - DAY);
  const after = offsetAt(naive + DAY);
  const early = naive - Math.max(before, after);
  const late = naive - Math.min(before, after);
  const earlyOk = offsetAt(early) === naive - early;
  const lateOk = offsetAt(late) === naive - late;
  if (earlyOk && lateOk && early !== late && hint !== void 0) {
    const open = [
      early,
      late
    ].filter((e) => e >= hint.epoch);
    const choices = open.length > 0 ? open : [
      early,
      late
    ];
    return choices.find((e) => naive - e === hint.offset) ?? choices[0];
  }
  if (earlyOk) return early;
  if (lateOk) return late;
  return naive - before;
}
function resolveWall(naive, hint) {
  const epoch = wallToEpoch(naive, hint);
  return {
    epoch,
    offset: naive - epoch
  };
}
function stampToNaive(stamp) {
  return Date.UTC(+stamp.slice(0, 4), +stamp.slice(5, 7) - 1, +stamp.slice(8, 10), +stamp.slice(11, 13), +stamp.slice(14, 16), +stamp.slice(17, 19));
}

// lib/log_format.ts
var ORIGINAL_METERS = [
  "proxy",
  "non-network"
];
var HEADER_PREFIX = "# netmon meters:";
var MAX_COUNTER = (1n << 64n) - 1n;
function isOriginal(meters) {
  return meters.length === 2 && meters[0] === ORIGINAL_METERS[0] && meters[1] === ORIGINAL_METERS[1];
}
function sameColumns(a, b) {
  return a.length === b.length && a.every((m, i) => m === b[i]);
}
function formatHeader(meters) {
  return `${HEADER_PREFIX}	${meters.join("	")}
`;
}
function parseHeader(line) {
  if (!line.startsWith(HEADER_PREFIX)) return void 0;
  return line.slice(HEADER_PREFIX.length).split(/[\t ]+/).filter((s) => s !== "");
}
function formatLogLine(sample) {
  return `${sample.timestamp}	${[
    ...sample.counters.values()
  ].join("	")}
`;
}
function parseCounter(text) {
  if (!/^\d{1,20}$/.test(text)) {
    return text.startsWith("-") ? `counter ${JSON.stringify(text)} is negative` : `counter ${JSON.stringify(text)} is not a whole number`;
  }
  const value = BigInt(text);
  return value > MAX_COUNTER ? `counter ${text} is larger than 2^64-1` : value;
}
function fields(line, where) {
  if (line.includes("\r")) {
    throw new DataError(`${where}: line ends in CR (DOS line ending): convert the file with dos2unix`);
  }
  if (/[^\t\x20-\x7e]/.test(line)) throw new DataError(`${where}: line has bytes that are not printable ASCII`);
  return line.trim().split(/[\t ]+/);
}
function parseLogLine(line, meters, where) {
  const f = fields(line, where);
  if (f.length !== meters.length + 1) {
    throw new DataError(`${where}: expected ${meters.length + 1} fields (timestamp and ${meters.join(", ")}) but got ${f.length}`);
  }
  return {
    timestamp: checkStamp(f[0] ?? "", where),
    counters: countersOf(f.slice(1), meters, where)
  };
}
function checkStamp(text, where) {
  if (!isTimestamp(text)) {
    throw new DataError(`${where}: ${JSON.stringify(text)} is not a timestamp YYYY/MM/DD-HH:MM:SS`);
  }
  return text;
}
function countersOf(values, meters, where) {
  const counters = /* @__PURE__ */ new Map();
  values.forEach((text, i) => {
    const v = parseCounter(text);
    if (typeof v === "string") throw new DataError(`${where}: ${meters[i]}: ${v}`);
    counters.set(meters[i], v);
  });
  return counters;
}
function formatLast(state) {
  const meters = [
    ...state.sample.counters.keys()
  ];
  const header = isOriginal(meters) ? "" : formatHeader(meters);
  return `${header}${state.sample.timestamp}	${[
    ...state.sample.counters.values()
  ].join("	")}	${state.totalStart}
`;
}
function parseLast(text, path) {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let meters = ORIGINAL_METERS;
  let lineNo = 1;
  const header = parseHeader(lines[0] ?? "");
  if (header) {
    meters = header;
    lineNo = 2;
  }
  const where = `${path}:${lineNo}`;
  const line = lines[lineNo - 1];
  if (line === void 0 || line.trim() === "") {
    throw new DataError(`${where}: the last file has no data line: delete it to start afresh`);
  }
  if (lines.length > lineNo) throw new DataError(`${path}:${lineNo + 1}: unexpected extra line in the last file`);
  const f = fields(line, where);
  if (f.length !== meters.length + 2) {
    throw new DataError(`${where}: expected ${meters.length + 2} fields (timestamp, ${meters.join(", ")}, total start) but got ${f.length}`);
  }
  return {
    sample: {
      timestamp: checkStamp(f[0] ?? "", where),
      counters: countersOf(f.slice(1, -1), meters, where)
    },
    totalStart: checkStamp(f.at(-1) ?? "", where)
  };
}

// lib/lines.ts
async function* readLines(path) {
  const file = await Deno.open(path, {
    read: true
  });
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of file.readable) {
      const text = rest + decoder.decode(chunk, {
        stream: true
      });
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        yield text.slice(start, nl);
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    rest += decoder.decode();
    if (rest !== "") yield rest;
  } finally {
    try {
      file.close();
    } catch {
    }
  }
}

// lib/usage.ts
function computeUsage(last, now) {
  const meters = [];
  const resets = [];
  for (const [meter, after] of now.counters) {
    const before = last?.sample.counters.get(meter) ?? 0n;
    const reset = after < before;
    if (reset) resets.push(meter);
    meters.push({
      meter,
      before,
      after,
      usage: reset ? after : after - before,
      reset
    });
  }
  const totalStart = last === void 0 || resets.length > 0 ? now.timestamp : last.totalStart;
  return {
    meters,
    resets,
    totalStart
  };
}

// lib/state.ts
function stateFiles(dir) {
  const d = dir.replace(/\/+$/, "") || "/";
  return {
    dir: d,
    log: `${d}/netmon.log`,
    last: `${d}/netmon.last`,
    lock: `${d}/netmon.lock`
  };
}
function resolveStateDir(i) {
  const chosen = i.flag ?? i.env ?? i.config;
  if (chosen !== void 0 && chosen !== "") return chosen;
  if (i.uid() === 0) return "/var/lib/netmon";
  const xdg = i.xdgStateHome();
  if (xdg) return `${xdg}/netmon`;
  const home = i.home();
  if (!home) {
    throw new NetmonError("No state directory: set --state-dir, NETMON_STATE_DIR or HOME", EX.CONFIG);
  }
  return `${home}/.local/state/netmon`;
}
function ensureStateDir(files) {
  try {
    Deno.mkdirSync(files.dir, {
      recursive: true,
      mode: 488
    });
  } catch (err) {
    throw fileError(err, "create state directory", files.dir);
  }
}
async function withLock(files, timeoutMs, fn) {
  let lockFile;
  try {
    lockFile = Deno.openSync(files.lock, {
      write: true,
      create: true,
      mode: 416
    });
  } catch (err) {
    throw fileError(err, "create lock file", files.lock);
  }
  try {
    if (lockFile.tryLockSync(true)) return await fn();
    const signal = AbortSignal.timeout(timeoutMs);
    const timeout = new Promise((_, reject) => {
      signal.addEventListener("abort", () => {
        reject(new NetmonError(`Another netmon run has held ${files.lock} for ${timeoutMs / 1e3} s; giving up, try again later`, EX.TEMPFAIL));
      });
    });
    await Promise.race([
      lockFile.lock(true),
      timeout
    ]);
    return await fn();
  } finally {
    lockFile.close();
  }
}
function readLast(path) {
  let text;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return void 0;
    throw fileError(err, "read last file", path);
  }
  return parseLast(text, path);
}
function readLogTail(path) {
  let file;
  try {
    file = Deno.openSync(path, {
      read: true
    });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {
      size: 0
    };
    throw fileError(err, "read log", path);
  }
  try {
    const size = file.statSync().size;
    let chunk = 64 * 1024;
    for (; ; ) {
      const start = Math.max(0, size - chunk);
      const buf = new Uint8Array(size - start);
      file.seekSync(start, Deno.SeekMode.Start);
      let got = 0;
      while (got < buf.length) {
        const n = file.readSync(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      const end = buf.lastIndexOf(10);
      const tail = {
        size
      };
      if (end < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      if (end + 1 < got) tail.tornAt = start + end + 1;
      if (end < 0) return tail;
      const prev = buf.lastIndexOf(10, end - 1);
      if (prev < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      tail.lastLine = new TextDecoder().decode(buf.subarray(prev + 1, end));
      return tail;
    }
  } catch (err) {
    throw fileError(err, "read log", path);
  } finally {
    file.close();
  }
}
async function forEachLogSample(path, each, onHeader) {
  let columns = ORIGINAL_METERS;
  let lineNo = 0;
  try {
    for await (const line of readLines(path)) {
      lineNo++;
      const header = parseHeader(line);
      if (header) {
        columns = header;
        onHeader?.(header);
      } else if (line.startsWith("#") || line === "") continue;
      else each(parseLogLine(line, columns, `${path}:${lineNo}`));
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    if (err instanceof DataError) throw new DataError(`${err.message} (correct or delete that line)`);
    throw err instanceof NetmonError ? err : fileError(err, "read log", path);
  }
}
async function scanLog(path) {
  const scan = {
    columns: ORIGINAL_METERS
  };
  try {
    await forEachLogSample(path, (sample) => scan.last = sample, (columns) => scan.columns = columns);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return scan;
}
function sameSample(a, b) {
  if (a.timestamp !== b.timestamp || a.counters.size !== b.counters.size) return false;
  for (const [m, v] of a.counters) if (b.counters.get(m) !== v) return false;
  return true;
}
async function previousState(files, warnings) {
  const last = readLast(files.last);
  const tail = readLogTail(files.log);
  if (tail.tornAt !== void 0) {
    try {
      Deno.truncateSync(files.log, tail.tornAt);
    } catch (err) {
      throw fileError(err, "repair log", files.log);
    }
    warnings.push(`${files.log}: removed ${tail.size - tail.tornAt} bytes of an incomplete last line left by an interrupted run`);
  }
  if (tail.lastLine === void 0) return {
    last,
    logColumns: ORIGINAL_METERS
  };
  if (last) {
    const columns = [
      ...last.sample.counters.keys()
    ];
    try {
      const fromLog = parseLogLine(tail.lastLine, columns, files.log);
      if (sameSample(fromLog, last.sample)) return {
        last,
        logColumns: columns
      };
    } catch {
    }
  }
  const scan = await scanLog(files.log);
  if (!scan.last) return {
    last,
    logColumns: scan.columns
  };
  warnings.push(last ? `${files.last} was behind ${files.log} (an interrupted run?); rebuilt from its last line` : `${files.last} was missing; rebuilt from ${files.log}`);
  return {
    last: {
      sample: scan.last,
      totalStart: last?.totalStart ?? scan.last.timestamp
    },
    logColumns: scan.columns
  };
}
var encoder = new TextEncoder();
function writeAll(file, data) {
  let done = 0;
  while (done < data.length) done += file.writeSync(data.subarray(done));
}
function appendLog(path, text) {
  let file;
  try {
    file = Deno.openSync(path, {
      append: true,
      create: true,
      mode: 416
    });
  } catch (err) {
    throw fileError(err, "create log", path);
  }
  let size = 0;
  try {
    size = file.statSync().size;
    writeAll(file, encoder.encode(text));
    file.syncDataSync();
  } catch (err) {
    try {
      file.truncateSync(size);
    } catch {
    }
    throw fileError(err, "append to log", path);
  } finally {
    file.close();
  }
}
function prepareReplace(path, text) {
  const tmp = `${path}.tmp`;
  try {
    const file = Deno.openSync(tmp, {
      write: true,
      create: true,
      truncate: true,
      mode: 416
    });
    try {
      writeAll(file, encoder.encode(text));
      file.syncDataSync();
    } finally {
      file.close();
    }
    return tmp;
  } catch (err) {
    discard(tmp);
    throw fileError(err, "write", path);
  }
}
function discard(tmp) {
  try {
    Deno.removeSync(tmp);
  } catch {
  }
}
function commitReplace(tmp, path) {
  try {
    Deno.renameSync(tmp, path);
  } catch (err) {
    discard(tmp);
    throw fileError(err, "write", path);
  }
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  try {
    const d = Deno.openSync(dir, {
      read: true
    });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
  }
}
function replaceFile(path, text) {
  commitReplace(prepareReplace(path, text), path);
}
function clockWentBack(previous) {
  return wallToEpoch(stampToNaive(previous)) > Date.now() + 1e3;
}
async function recordSample(files, opts) {
  ensureStateDir(files);
  return await withLock(files, opts.lockTimeoutMs ?? 6e4, async () => {
    const warnings = [];
    const previous = Promise.withResolvers();
    previous.promise.catch(() => {
    });
    const pending = opts.readCounters(previous.promise);
    pending.catch(() => {
    });
    let state;
    try {
      state = await previousState(files, warnings);
    } catch (err) {
      previous.reject(err);
      throw err;
    }
    const { last, logColumns } = state;
    previous.resolve(last?.sample);
    const reading = await pending;
    const counters = reading.bytes;
    const sample = {
      timestamp: opts.now(),
      counters
    };
    if (last && sample.timestamp < last.sample.timestamp && clockWentBack(last.sample.timestamp)) {
      warnings.push(`the clock (${sample.timestamp}) is before the last sample (${last.sample.timestamp}): recorded anyway, as a step back; check the system clock (NTP)`);
    }
    if (reading.packets) sample.packets = reading.packets;
    const usage = computeUsage(last, sample);
    const meters = [
      ...counters.keys()
    ];
    const header = sameColumns(logColumns, meters) ? "" : formatHeader(meters);
    const tmp = prepareReplace(files.last, formatLast({
      sample,
      totalStart: usage.totalStart
    }));
    try {
      appendLog(files.log, header + formatLogLine(sample));
    } catch (err) {
      discard(tmp);
      throw err;
    }
    commitReplace(tmp, files.last);
    const recorded = {
      previous: last,
      sample,
      usage,
      warnings
    };
    if (reading.intervalPackets) recorded.intervalPackets = reading.intervalPackets;
    await opts.onRecorded?.(recorded);
    return recorded;
  });
}

export {
  formatTimestamp,
  wallToEpoch,
  resolveWall,
  stampToNaive,
  stateFiles,
  resolveStateDir,
  ensureStateDir,
  withLock,
  readLast,
  forEachLogSample,
  replaceFile,
  recordSample
};
