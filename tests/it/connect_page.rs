//! The page a phone's camera opens from a pairing QR code, over HTTP: it names the
//! organisation, links the wallet app while the code works, says why when it does not,
//! and speaks the configured language.

use gdpr_gateway::config::DEFAULT_PAIRING_LIFETIME_SECONDS;

use crate::common::TestGateway;
use crate::pairing::{Wallet, create_pairing};

async fn page(gw: &TestGateway, connect_uri: &str) -> (u16, String) {
    let path = connect_uri.strip_prefix(&gw.url).expect("the demo's embedded relay");
    let answer = gw.get(path).send().await.unwrap();
    assert_eq!(answer.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(answer.headers()["cache-control"], "no-store");
    (answer.status().as_u16(), answer.text().await.unwrap())
}

#[tokio::test]
async fn the_page_names_the_organisation_and_says_what_to_do() {
    let gw = TestGateway::demo().await;
    let name = gw.gateway.notice().controller.name.clone();
    let pairing = create_pairing(&gw, "alice").await;
    let uri = pairing.connect_uri.unwrap();

    let (status, open) = page(&gw, &uri).await;
    assert_eq!(status, 200);
    assert!(open.contains(&format!("<h1>Connect your data wallet to {name}</h1>")), "{open}");
    assert!(open.contains("class=\"button\" href=\"gdpr-wallet://connect?relay="), "{open}");
    assert!(open.contains("No wallet app on this phone?"), "{open}");
    assert!(open.contains("<html lang=\"en\">"));

    Wallet::connect(&gw, &uri).await.unwrap();
    let (status, used) = page(&gw, &uri).await;
    assert_eq!(status, 410);
    assert!(used.contains("This code has been used already"), "{used}");
    assert!(!used.contains("gdpr-wallet://"), "a spent code links nowhere");

    let expiring = create_pairing(&gw, "bob").await.connect_uri.unwrap();
    gw.clock.advance(DEFAULT_PAIRING_LIFETIME_SECONDS);
    let (status, expired) = page(&gw, &expiring).await;
    assert_eq!(status, 410);
    assert!(expired.contains("This code has expired"), "{expired}");
}

#[tokio::test]
async fn the_page_speaks_the_configured_language() {
    let gw = TestGateway::demo_with_top_level("language = \"nl\"").await;
    let name = gw.gateway.notice().controller.name.clone();
    let uri = create_pairing(&gw, "alice").await.connect_uri.unwrap();
    let (status, open) = page(&gw, &uri).await;
    assert_eq!(status, 200);
    assert!(open.contains("<html lang=\"nl\">"), "{open}");
    assert!(open.contains(&format!("<h1>Koppel je datawallet aan {name}</h1>")), "{open}");
    assert!(open.contains("Openen in de wallet-app"), "{open}");
}
