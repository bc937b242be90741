//! QR images of connect URIs, in SVG, PNG and terminal text, at error correction level Q (25 % of the
//! symbol can be damaged or covered by a logo and it still scans).

use qrcode::{EcLevel, QrCode};

/// Pixels per module in the PNG.
pub(crate) const PNG_MODULE_PX: u32 = 8;
/// Light modules around the symbol, as ISO/IEC 18004 asks.
pub(crate) const QUIET_ZONE_MODULES: u32 = 4;
/// Smallest side of the SVG, in user units.
pub(crate) const SVG_MIN_SIZE: u32 = 256;

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the QR code: {0}")]
pub(crate) struct QrError(String);

fn code(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q).map_err(|e| QrError(e.to_string()))
}

/// An SVG document of `text`.
pub(crate) fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(SVG_MIN_SIZE, SVG_MIN_SIZE)
        .build())
}

/// Black on white whatever the terminal's theme (256-colour palette: 16 is black, 231
/// white): scanners read dark modules on a light ground, and a theme's own colours would
/// turn the code negative on a light terminal or a dark one.
const BLACK_ON_WHITE: &str = "\x1b[38;5;16;48;5;231m";
const RESET: &str = "\x1b[0m";

/// `text` drawn with Unicode half blocks for a terminal, two modules per character cell,
/// the blocks dark on a forced white ground, each line in its own colours.
pub(crate) fn terminal(text: &str) -> Result<String, QrError> {
    use qrcode::render::unicode::Dense1x2;
    let art = code(text)?
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Dark)
        .light_color(Dense1x2::Light)
        .quiet_zone(true)
        .build();
    Ok(art.lines().map(|line| format!("{BLACK_ON_WHITE}{line}{RESET}")).collect::<Vec<_>>().join("\n"))
}

/// A greyscale PNG of `text`.
pub(crate) fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = code(text)?;
    let modules = u32::try_from(code.width()).map_err(|e| QrError(e.to_string()))?;
    let colors = code.to_colors();
    let side_modules = modules + 2 * QUIET_ZONE_MODULES;
    let side = side_modules * PNG_MODULE_PX;
    let mut pixels = Vec::with_capacity((side * side) as usize);
    for y in 0..side {
        let my = (y / PNG_MODULE_PX).checked_sub(QUIET_ZONE_MODULES).filter(|m| *m < modules);
        for x in 0..side {
            let mx = (x / PNG_MODULE_PX).checked_sub(QUIET_ZONE_MODULES).filter(|m| *m < modules);
            let dark = match (mx, my) {
                (Some(mx), Some(my)) => colors[(my * modules + mx) as usize] == qrcode::Color::Dark,
                _ => false,
            };
            pixels.push(if dark { 0 } else { 255 });
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| QrError(e.to_string()))?;
    writer.write_image_data(&pixels).map_err(|e| QrError(e.to_string()))?;
    writer.finish().map_err(|e| QrError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read back as a scanner sees it on any theme (the forced colours): every dark module
    /// of the symbol is a dark half cell, every light one a light half cell.
    #[test]
    fn the_terminal_code_is_dark_on_light_module_for_module() {
        let uri = "http://127.0.0.1:8080/relay/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let drawn = terminal(uri).unwrap();
        let code = code(uri).unwrap();
        let (width, colors) = (code.width(), code.to_colors());
        let mut rows: Vec<Vec<bool>> = Vec::new();
        for line in drawn.lines() {
            let cells = line.strip_prefix(BLACK_ON_WHITE).and_then(|l| l.strip_suffix(RESET)).unwrap();
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for cell in cells.chars() {
                let (t, b) = match cell {
                    '\u{2588}' => (true, true),
                    '\u{2580}' => (true, false),
                    '\u{2584}' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected cell {other:?}"),
                };
                top.push(t);
                bottom.push(b);
            }
            rows.extend([top, bottom]);
        }
        // Dense1x2 draws a quiet zone of 4 modules around the symbol.
        let quiet = 4;
        for (y, row) in rows.iter().enumerate().take(width + 2 * quiet) {
            for (x, dark) in row.iter().enumerate() {
                let inside = (quiet..quiet + width).contains(&x) && (quiet..quiet + width).contains(&y);
                let module = inside && colors[(y - quiet) * width + (x - quiet)] == qrcode::Color::Dark;
                assert_eq!(*dark, module, "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn draws_both_formats() {
        let uri = "http://127.0.0.1:8080/relay/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(svg(uri).unwrap().starts_with("<?xml"));
        assert!(png(uri).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
