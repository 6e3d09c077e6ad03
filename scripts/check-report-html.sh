#!/usr/bin/env bash
# Render a report folder's report.html in headless Chromium and check that the page is not
# blank and logged no console errors. Usage: scripts/check-report-html.sh REPORT_DIR [OUT.png]
# Needs Debian's `chromium` (apt-get install -y chromium) and python3.
set -euo pipefail
dir="${1:?usage: scripts/check-report-html.sh REPORT_DIR [OUT.png]}"
html="$(cd "$dir" && pwd)/report.html"
[ -f "$html" ] || { echo "no report.html in $dir" >&2; exit 2; }
png="${2:-$dir/screenshot.png}"
profile="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$profile" "$log"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --enable-logging=stderr --v=0 --screenshot="$png" --window-size=1200,2400 \
  "file://$html" >"$log" 2>&1 || { cat "$log" >&2; echo "chromium failed" >&2; exit 1; }
if grep -E "Uncaught|ERROR:CONSOLE" "$log"; then
  echo "console errors while rendering $html" >&2
  exit 1
fi
python3 - "$png" <<'PY'
# Decode the PNG with the standard library only (zlib + unfiltering) and count colours.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), f"unsupported PNG (depth {depth}, type {ctype})"
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
colours, non_white, i = set(), 0, 0
for _ in range(height):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3])
        colours.add(px)
        if px != b"\xff\xff\xff":
            non_white += 1
    prev = line
share = non_white / (width * height)
print(f"{sys.argv[1]}: {width}x{height}, {len(colours)} distinct colours, {share:.1%} non-white pixels")
if len(colours) < 20 or share < 0.02:
    sys.exit("the page looks blank")
PY
echo "ok: $html rendered without console errors"
