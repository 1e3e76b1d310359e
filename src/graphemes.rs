//! Grapheme clusters: what a reader sees as one character (👍🏽, 🇺🇸, é
//! written as e and a combining accent, a Devanagari syllable), so that text
//! is never cut inside one.
//!
//! Natively (the CLI, the tests) the `unicode-segmentation` crate finds
//! them. In the WebAssembly builds the JavaScript engine's own
//! `Intl.Segmenter` (ICU) does: every runtime those builds serve has it
//! (Node 16 and later, workerd, current browsers), and the crate's tables
//! would weigh on each build (BENCHMARKS.md).

/// The byte offsets at which the clusters of `text` end, in order; the
/// last is `text.len()`. Empty for an empty text.
#[cfg(not(target_arch = "wasm32"))]
pub fn ends(text: &str) -> Vec<usize> {
    use unicode_segmentation::UnicodeSegmentation;
    text.grapheme_indices(true).map(|(at, cluster)| at + cluster.len()).collect()
}

/// The byte offsets at which the clusters of `text` end, in order; the
/// last is `text.len()`. Empty for an empty text.
#[cfg(target_arch = "wasm32")]
pub fn ends(text: &str) -> Vec<usize> {
    use js_sys::wasm_bindgen::JsCast;
    use js_sys::{Array, Intl, Object};

    thread_local! {
        // The default granularity is the grapheme cluster.
        static SEGMENTER: Intl::Segmenter = Intl::Segmenter::new(&Array::new(), &Object::new());
    }
    let segments = SEGMENTER.with(|segmenter| segmenter.segment(text));
    let Ok(Some(iterator)) = js_sys::try_iter(&segments) else { return by_code_point(text) };
    let mut ends = Vec::new();
    let mut end = 0;
    for item in iterator {
        let Ok(item) = item else { return by_code_point(text) };
        let cluster = String::from(item.unchecked_into::<Intl::SegmentData>().segment());
        end += cluster.len();
        ends.push(end);
    }
    if end == text.len() {
        ends
    } else {
        by_code_point(text)
    }
}

/// Each code point its own cluster: what is left if the engine has no
/// segmenter. A code point is never cut in two even so.
#[cfg(target_arch = "wasm32")]
fn by_code_point(text: &str) -> Vec<usize> {
    text.char_indices().map(|(at, c)| at + c.len_utf8()).collect()
}

#[cfg(test)]
mod tests {
    use super::ends;

    #[test]
    fn clusters_keep_what_a_reader_sees_as_one() {
        assert_eq!(ends(""), Vec::<usize>::new());
        assert_eq!(ends("ab"), [1, 2]);
        let thumb = "👍🏽";
        assert_eq!(ends(thumb), [thumb.len()]);
        let flags = "🇺🇸🇯🇵";
        assert_eq!(ends(flags), [8, 16]);
        assert_eq!(ends("e\u{301}x"), [3, 4]);
        assert_eq!(ends("\r\n"), [2]);
    }
}
