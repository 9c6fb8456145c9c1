// One program, many behaviours, chosen by the first word on stdin (compiled once per test run).
const words = require("fs").readFileSync(0, "utf8").trim().split(/\s+/);
const cmd = words[0];
if (cmd === "add") {
  console.log(String(BigInt(words[1]) + BigInt(words[2])));
} else if (cmd === "loop") {
  for (;;) {}
} else if (cmd === "crash") {
  throw new Error("boom");
} else if (cmd === "fork") {
  const cp = require("child_process");
  for (;;) cp.spawn("/bin/sleep", ["100"]);
} else if (cmd === "net") {
  const s = require("net").connect(Number(words[1]), "127.0.0.1", () => {
    s.write("leak");
    console.log("connected");
    s.end();
  });
  s.on("error", () => console.log("blocked"));
} else if (cmd === "write") {
  try {
    require("fs").writeFileSync(words[1], "evil");
    console.log("written");
  } catch (e) {
    console.log("blocked");
  }
} else if (cmd === "mem") {
  const keep = [];
  for (;;) keep.push(new Array(1 << 20).fill(1.5));
} else {
  process.exit(2);
}
