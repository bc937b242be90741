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

/// `text` drawn with Unicode half blocks for a terminal, two modules per character cell.
/// Light modules are the blocks, so the code reads as dark on light on a dark terminal.
pub(crate) fn terminal(text: &str) -> Result<String, QrError> {
    use qrcode::render::unicode::Dense1x2;
    Ok(code(text)?
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
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

    #[test]
    fn draws_both_formats() {
        let uri = "http://127.0.0.1:8080/relay/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(svg(uri).unwrap().starts_with("<?xml"));
        assert!(png(uri).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
