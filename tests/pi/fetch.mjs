// Fetches the official pi extension examples at test time, the way cmake/FetchQuickJS.cmake
// fetches QuickJS at configure time: `npm pack` of one pinned version, its sha512 checked
// against the integrity pinned here before anything is extracted (npm checks the registry's
// own integrity too, but a pin in this repository is what makes a substituted package fail),
// and only examples/ extracted, into the build tree. Nothing of the package is committed.
//
// Why a cache outside the build tree: the release, ASan and TSan trees would otherwise each
// download the same tarball; the cache is the one FetchQuickJS uses ($XDG_CACHE_HOME/airlock,
// else ~/.cache/airlock), and the cached file is checked on every run like a fresh one, so a
// truncated or replaced cache entry is refused, never extracted. A stamp holding the
// integrity sits in the extracted directory: when it matches, nothing is extracted again.
//
// Usage: node tests/pi/fetch.mjs DEST_DIR   -> prints DEST_DIR/package/examples/extensions
// Exit 1 with the reason on stderr when npm fails or the tarball does not match the pin.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const PI_SPEC = "@mariozechner/pi-coding-agent@0.73.1";
export const PI_TARBALL = "mariozechner-pi-coding-agent-0.73.1.tgz";
export const PI_INTEGRITY =
  "sha512-gXQh3SaZmWTfVMc4Ao5+LGbVeKvzyO7tolok0nLsZgq9nGjZx/EEU3NM8C+qUnB4Nvs2rswG5qOVgLzQkq0fHQ==";

export function cacheDir() {
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, "airlock");
  return join(homedir(), ".cache", "airlock");
}

/* The file's integrity in npm's form ("sha512-" + base64), for comparing with the pin. */
export function integrityOf(path) {
  return "sha512-" + createHash("sha512").update(readFileSync(path)).digest("base64");
}

/* Returns the tarball's path in the cache, downloading it when absent. Throws when npm
 * fails or the file (cached or fresh) does not match PI_INTEGRITY; a mismatching file is
 * removed so that the next run downloads again instead of refusing forever. */
function tarball(log) {
  const dir = cacheDir();
  const path = join(dir, PI_TARBALL);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    log(`fetch: npm pack ${PI_SPEC} into ${dir}`);
    // npm pack writes the tarball under its own name; a temporary directory keeps a
    // half-written file from ever having the cached name.
    const tmp = join(dir, `.pi-pack-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      execFileSync("npm", ["pack", PI_SPEC, "--pack-destination", tmp, "--silent"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      renameSync(join(tmp, PI_TARBALL), path);
    } catch (e) {
      throw new Error(`npm pack ${PI_SPEC} failed: ${String(e.stderr || e.message).trim()}`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const got = integrityOf(path);
  if (got !== PI_INTEGRITY) {
    rmSync(path, { force: true });
    throw new Error(
      `refusing ${path}: its sha512 does not match the pinned integrity\n` +
        `  pinned: ${PI_INTEGRITY}\n  got:    ${got}\n(the file was removed; nothing was extracted)`,
    );
  }
  return path;
}

/* Makes DEST/package/examples hold the pinned package's examples/ and returns the path of
 * examples/extensions. */
export function fetchExamples(dest, log = (m) => process.stderr.write(m + "\n")) {
  dest = resolve(dest);
  const ext = join(dest, "package", "examples", "extensions");
  const stamp = join(dest, ".pi-examples-stamp");
  const want = `${PI_SPEC} ${PI_INTEGRITY}\n`;
  // The tarball is checked even when the stamp matches: the check is the point of the pin.
  const tgz = tarball(log);
  if (existsSync(ext) && existsSync(stamp) && readFileSync(stamp, "utf8") === want) return ext;
  rmSync(join(dest, "package"), { recursive: true, force: true });
  rmSync(stamp, { force: true });
  mkdirSync(dest, { recursive: true });
  // GNU tar refuses absolute and ../ member names by default; only examples/ is taken.
  execFileSync("tar", ["-xzf", tgz, "-C", dest, "package/examples"], { stdio: ["ignore", "ignore", "inherit"] });
  if (!existsSync(ext)) throw new Error(`${tgz} has no package/examples/extensions`);
  writeFileSync(stamp, want);
  log(`fetch: extracted examples/ of ${PI_SPEC} into ${join(dest, "package")}`);
  return ext;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.length !== 3) {
    process.stderr.write("usage: node tests/pi/fetch.mjs DEST_DIR\n");
    process.exit(2);
  }
  try {
    process.stdout.write(fetchExamples(process.argv[2]) + "\n");
  } catch (e) {
    process.stderr.write(`fetch: ${e.message}\n`);
    process.exit(1);
  }
}
