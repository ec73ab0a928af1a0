/**
 * A minimal protobuf wire-format reader for the few SentencePiece ModelProto fields tuna reads
 * (no protobuf library is a direct dependency; onnx-proto's generated code covers ONNX messages only).
 */

/** One decoded field: its number, wire type and value (a number, or bytes for length-delimited fields). */
export interface WireField {
  readonly field: number;
  readonly wire: number;
  readonly value: number | Uint8Array;
}

/** The fields of one message, in order. @throws Error on malformed input. */
export function readMessage(bytes: Uint8Array): WireField[] {
  const out: WireField[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const b = bytes[pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (wire) {
      case 0:
        out.push({ field, wire, value: varint() });
        break;
      case 1:
        if (pos + 8 > bytes.length) throw new Error('truncated fixed64');
        out.push({ field, wire, value: view.getFloat64(pos, true) });
        pos += 8;
        break;
      case 2: {
        const len = varint();
        if (pos + len > bytes.length) throw new Error(`field ${field} claims ${len} bytes past the end`);
        out.push({ field, wire, value: bytes.subarray(pos, pos + len) });
        pos += len;
        break;
      }
      case 5:
        if (pos + 4 > bytes.length) throw new Error('truncated fixed32');
        out.push({ field, wire, value: view.getFloat32(pos, true) });
        pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wire} (field ${field})`);
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A length-delimited field as UTF-8 text. */
export function text(v: number | Uint8Array): string {
  if (typeof v === 'number') throw new Error('expected a string field');
  return utf8.decode(v);
}

/** A length-delimited field's bytes. */
export function bytesOf(v: number | Uint8Array): Uint8Array {
  if (typeof v === 'number') throw new Error('expected a bytes field');
  return v;
}

/** A numeric field. */
export function num(v: number | Uint8Array): number {
  if (typeof v !== 'number') throw new Error('expected a numeric field');
  return v;
}
