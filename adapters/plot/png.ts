import { Resvg } from '@resvg/resvg-js';

/**
 * SVG → PNG with resvg (a Rust SVG renderer shipped as a prebuilt npm binary; no browser, no
 * network). Text uses the system's fonts (DejaVu Sans or Liberation Sans where installed).
 */
export function svgToPng(svg: string, opts: { width?: number } = {}): Buffer {
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    fitTo: opts.width ? { mode: 'width', value: opts.width } : { mode: 'original' },
    font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans', defaultFontFamily: 'DejaVu Sans' },
    logLevel: 'off',
  });
  return resvg.render().asPng();
}

/** Width and height from a PNG's IHDR chunk (throws when the bytes are not a PNG). */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
