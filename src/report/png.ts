/**
 * A minimal PNG reader (8-bit greyscale / RGB / RGBA, non-interlaced): enough to check that a
 * browser screenshot of a report shows something, without an image dependency.
 */
import { inflateSync } from "node:zlib";

/** Decoded pixels, always as RGBA. */
export interface PngImage {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes a PNG; throws on formats it does not handle (16-bit, palette, interlaced). */
export function decodePng(buf: Uint8Array): PngImage {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (buf.length < 8 || sig.some((b, i) => buf[i] !== b)) throw new Error("not a PNG file");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= buf.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...buf.subarray(pos + 4, pos + 8));
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const depth = data[8];
      const colorType = data[9];
      const interlace = data[12];
      channels = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 4 ? 2 : colorType === 6 ? 4 : 0;
      if (depth !== 8 || channels === 0 || interlace !== 0) {
        throw new Error(`unsupported PNG (bit depth ${depth}, colour type ${colorType}, interlace ${interlace})`);
      }
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? row[x - channels] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= channels ? prev[x - channels] : 0;
      let v = src[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) throw new Error(`bad PNG filter ${f} on row ${y}`);
      row[x] = v & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    const g = px[s];
    rgba[i * 4] = channels >= 3 ? px[s] : g;
    rgba[i * 4 + 1] = channels >= 3 ? px[s + 1] : g;
    rgba[i * 4 + 2] = channels >= 3 ? px[s + 2] : g;
    rgba[i * 4 + 3] = channels === 4 ? px[s + 3] : channels === 2 ? px[s + 1] : 255;
  }
  return { width, height, rgba };
}

/** Share of pixels that are not (near) white, and how many distinct strongly coloured hues appear. */
export function inkStats(img: PngImage): { inked: number; colored: number } {
  let inked = 0;
  const hues = new Set<number>();
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const r = img.rgba[i * 4];
    const g = img.rgba[i * 4 + 1];
    const b = img.rgba[i * 4 + 2];
    if (r < 235 || g < 235 || b < 235) inked++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 80) hues.add(((r >> 5) << 6) | ((g >> 5) << 3) | (b >> 5));
  }
  return { inked: inked / n, colored: hues.size };
}
