//! The page a phone's camera opens from a pairing QR code: it names the organisation, sends
//! a person with the wallet app into it, and tells one without the app, or with a used or
//! expired code, what to do. It claims nothing: only the wallet's `POST /v1/connect`
//! redeems the token.

use crate::bundle::index_html::escape;
use crate::config::Language;
use crate::store::relay_store::RedeemRefused;

/// What the page can say about the scanned code.
pub(super) enum CodeState<'a> {
    /// Registered by `organisation` and still redeemable through `app_link`.
    Open { organisation: &'a str, app_link: &'a str },
    /// Registered by `organisation`, but used or expired.
    Closed { organisation: &'a str, why: RedeemRefused },
    /// Not registered here.
    Unknown,
}

/// The fixed text of the page in one language; `{org}` stands for the organisation's name.
struct Wording {
    title: &'static str,
    heading: &'static str,
    intro: &'static str,
    open_app: &'static str,
    no_app_heading: &'static str,
    no_app: &'static str,
    unexpected_heading: &'static str,
    unexpected: &'static str,
    used: &'static str,
    expired: &'static str,
    unknown_heading: &'static str,
    unknown: &'static str,
}

const EN: Wording = Wording {
    title: "Connect your data wallet",
    heading: "Connect your data wallet to {org}",
    intro: "{org} offers to connect your data wallet app to your account there. Once connected you can download the \
            personal data {org} holds about you, take it to another organisation, and use your privacy rights, with a \
            signed receipt for each.",
    open_app: "Open in the wallet app",
    no_app_heading: "No wallet app on this phone?",
    no_app: "Install a data wallet app (ask {org} which ones they support), open it, and scan the code on {org}'s \
             website again. The code works once and for a few minutes only; if it has expired, ask the website for a new \
             one.",
    unexpected_heading: "Did not expect this?",
    unexpected: "Then close this page. Nothing is connected until you type the code your wallet shows into {org}'s \
                 website, while you are logged in there.",
    used: "This code has been used already. To connect another wallet, ask {org}'s website for a new code.",
    expired: "This code has expired. Ask {org}'s website for a new code and scan it within a few minutes.",
    unknown_heading: "Unknown code",
    unknown: "This code is not known here. Scan the code shown on the organisation's own website, while you are \
              logged in there.",
};

const NL: Wording = Wording {
    title: "Koppel je datawallet",
    heading: "Koppel je datawallet aan {org}",
    intro: "{org} biedt aan je datawallet-app te koppelen aan je account daar. Daarna kun je de persoonsgegevens die \
            {org} over je heeft downloaden, meenemen naar een andere organisatie en je privacyrechten gebruiken, met \
            voor elk een ondertekend bewijs.",
    open_app: "Openen in de wallet-app",
    no_app_heading: "Geen wallet-app op deze telefoon?",
    no_app: "Installeer een datawallet-app (vraag {org} welke zij ondersteunen), open die en scan de code op de website \
             van {org} opnieuw. De code werkt één keer en maar een paar minuten; is hij verlopen, vraag dan op de \
             website een nieuwe.",
    unexpected_heading: "Had je dit niet verwacht?",
    unexpected: "Sluit dan deze pagina. Er wordt niets gekoppeld tot je de code die je wallet toont intypt op de website \
                 van {org}, terwijl je daar bent ingelogd.",
    used: "Deze code is al gebruikt. Wil je nog een wallet koppelen, vraag dan op de website van {org} een nieuwe code.",
    expired: "Deze code is verlopen. Vraag op de website van {org} een nieuwe code en scan die binnen een paar minuten.",
    unknown_heading: "Onbekende code",
    unknown: "Deze code is hier niet bekend. Scan de code op de website van de organisatie zelf, terwijl je daar bent \
              ingelogd.",
};

fn wording(language: Language) -> &'static Wording {
    match language {
        Language::Nl => &NL,
        _ => &EN,
    }
}

/// The page, in `language`.
pub(super) fn render(state: &CodeState<'_>, language: Language) -> String {
    let w = wording(language);
    let with_org = |text: &str, org: &str| escape(text).replace("{org}", &format!("<strong>{}</strong>", escape(org)));
    let (heading, body) = match state {
        CodeState::Open { organisation, app_link } => (
            escape(&w.heading.replace("{org}", organisation)),
            format!(
                "<p>{intro}</p>\n<p><a class=\"button\" href=\"{link}\">{open}</a></p>\n\
                 <h2>{no_app_heading}</h2>\n<p>{no_app}</p>\n<h2>{unexpected_heading}</h2>\n<p>{unexpected}</p>",
                intro = with_org(w.intro, organisation),
                link = escape(app_link),
                open = escape(w.open_app),
                no_app_heading = escape(w.no_app_heading),
                no_app = with_org(w.no_app, organisation),
                unexpected_heading = escape(w.unexpected_heading),
                unexpected = with_org(w.unexpected, organisation),
            ),
        ),
        CodeState::Closed { organisation, why } => {
            let text = if matches!(why, RedeemRefused::Used) { w.used } else { w.expired };
            (escape(&w.heading.replace("{org}", organisation)), format!("<p>{}</p>", with_org(text, organisation)))
        }
        CodeState::Unknown => (escape(w.unknown_heading), format!("<p>{}</p>", escape(w.unknown))),
    };
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title><style>{STYLE}</style></head>\n\
         <body><main><h1>{heading}</h1>\n{body}\n</main></body></html>\n",
        lang = language.code(),
        title = escape(w.title),
    )
}

/// Large type and one large tap target, dark on light, so the page reads on any phone.
const STYLE: &str = "body{margin:0;background:#f4f5f7;color:#1b1f24;font:1.0625rem/1.55 system-ui,-apple-system,\
    'Segoe UI',Roboto,sans-serif}main{max-width:34rem;margin:0 auto;padding:1.5rem 1.25rem 3rem}\
    h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}h2{font-size:1.125rem;margin:2rem 0 .25rem}\
    .button{display:block;text-align:center;background:#0b57d0;color:#fff;text-decoration:none;font-weight:600;\
    padding:1rem;border-radius:.75rem;margin:1.5rem 0}.button:focus-visible{outline:3px solid #1b1f24;\
    outline-offset:3px}";

#[cfg(test)]
mod tests {
    use super::{CodeState, Language, render};
    use crate::store::relay_store::RedeemRefused;

    #[test]
    fn names_the_organisation_escaped_and_links_the_app() {
        let open = CodeState::Open { organisation: "Zon & <Wind>", app_link: "gdpr-wallet://connect?relay=x&token=y" };
        let page = render(&open, Language::En);
        assert!(page.contains("<h1>Connect your data wallet to Zon &amp; &lt;Wind&gt;</h1>"), "{page}");
        assert!(page.contains("<strong>Zon &amp; &lt;Wind&gt;</strong> offers"), "{page}");
        assert!(page.contains("href=\"gdpr-wallet://connect?relay=x&amp;token=y\""), "{page}");
        assert!(page.contains("No wallet app on this phone?"));
        assert!(!page.contains("<Wind>"));
    }

    #[test]
    fn speaks_dutch_and_tells_why_a_code_no_longer_works() {
        let used = render(&CodeState::Closed { organisation: "Groene Stroom", why: RedeemRefused::Used }, Language::Nl);
        assert!(used.starts_with("<!doctype html>\n<html lang=\"nl\">"), "{used}");
        assert!(used.contains("Deze code is al gebruikt"), "{used}");
        assert!(!used.contains("class=\"button\""), "a used code offers no app link");
        let expired = render(&CodeState::Closed { organisation: "X", why: RedeemRefused::Expired }, Language::En);
        assert!(expired.contains("This code has expired"));
        assert!(render(&CodeState::Unknown, Language::Nl).contains("Onbekende code"));
    }
}
