//! The language a person reads: the config's top-level `language` key, carried with the
//! inventory because the organisation writes its inventory texts in that language and the
//! gateway builds everything a person sees from the inventory.

use serde::Deserialize;

/// The language of the pages a person reads, `index.html` of the zip package first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Language {
    #[default]
    En,
    Nl,
}

impl Language {
    /// Every language, as written in the config.
    pub const ALL: &[Self] = &[Self::En, Self::Nl];

    /// The code the config and `<html lang>` use.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Nl => "nl",
        }
    }
}

impl TryFrom<String> for Language {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|l| l.code() == text).ok_or_else(|| {
            let allowed: Vec<String> = Self::ALL.iter().map(|l| format!("{:?}", l.code())).collect();
            format!("language: {text:?} is not supported; use one of {}", allowed.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn reads_the_codes_and_names_the_allowed_ones() {
        assert_eq!(Language::try_from("nl".to_owned()), Ok(Language::Nl));
        assert_eq!(
            Language::try_from("de".to_owned()),
            Err(r#"language: "de" is not supported; use one of "en", "nl""#.to_owned())
        );
    }
}
