//! Staff signing in with access tokens from an identity provider, over real HTTP: a small
//! provider on 127.0.0.1:0 publishes a JWKS and the tests sign its tokens (RS256 with the
//! fixed keys in `fixtures/idp_rsa_keys.json`, since generating RSA keys is slow in debug
//! builds; ES256 and EdDSA with keys made here). `fixtures/openssl_rs256.jwt` was signed by
//! the OpenSSL command line, an implementation independent of ours, with the first key:
//! `printf %s "$header.$payload" | openssl dgst -sha256 -sign rsa-1.pem -binary`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gdpr_gateway::config::{self, Origin, Overrides};
use gdpr_gateway::jose::{SigningKeyPair, b64, danger};
use gdpr_gateway::protocol::rights::StaffRole;
use rsa::pkcs1v15::SigningKey as RsaSigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{BigUint, RsaPrivateKey};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{StaffClient, T0, TestGateway, assert_problem};

const ISSUER: &str = "https://idp.example.test/realms/acme";
const AUDIENCE: &str = "gdpr-gateway";
const RSA_KEYS: &str = include_str!("fixtures/idp_rsa_keys.json");
const OPENSSL_TOKEN: &str = include_str!("fixtures/openssl_rs256.jwt");

/// A signing key of the test provider.
enum IdpKey {
    Rsa { kid: String, key: Box<RsaSigningKey<Sha256>>, public: Value },
    Ed { kid: String, key: Box<SigningKeyPair> },
    Es { kid: String, key: Box<p256::ecdsa::SigningKey> },
}

impl IdpKey {
    /// The fixture RSA key `n` (1 or 2).
    fn rsa(n: usize) -> Self {
        let doc: Value = serde_json::from_str(RSA_KEYS).unwrap();
        let jwk = &doc["keys"][n - 1];
        let int = |name: &str| BigUint::from_bytes_be(&b64::decode(jwk[name].as_str().unwrap()).unwrap());
        let private = RsaPrivateKey::from_components(int("n"), int("e"), int("d"), vec![int("p"), int("q")]).unwrap();
        let public =
            json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": jwk["kid"], "n": jwk["n"], "e": jwk["e"]});
        Self::Rsa { kid: jwk["kid"].as_str().unwrap().to_owned(), key: Box::new(RsaSigningKey::new(private)), public }
    }

    fn ed(kid: &str) -> Self {
        Self::Ed { kid: kid.to_owned(), key: Box::new(SigningKeyPair::generate()) }
    }

    fn es(kid: &str) -> Self {
        Self::Es { kid: kid.to_owned(), key: Box::new(p256::ecdsa::SigningKey::from_slice(&[0x5a; 32]).unwrap()) }
    }

    fn kid(&self) -> &str {
        match self {
            Self::Rsa { kid, .. } | Self::Ed { kid, .. } | Self::Es { kid, .. } => kid,
        }
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Rsa { .. } => "RS256",
            Self::Ed { .. } => "EdDSA",
            Self::Es { .. } => "ES256",
        }
    }

    fn public_jwk(&self) -> Value {
        match self {
            Self::Rsa { public, .. } => public.clone(),
            Self::Ed { kid, key } => json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": key.public_jwk().x}),
            Self::Es { kid, key } => {
                let point = key.verifying_key().to_encoded_point(false);
                json!({"kty": "EC", "crv": "P-256", "kid": kid,
                       "x": b64::encode(point.x().unwrap()), "y": b64::encode(point.y().unwrap())})
            }
        }
    }

    /// A compact JWS over exactly `header` and `claims`.
    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let header = header.to_string();
        let input = format!("{}.{}", b64::encode(&header), b64::encode(claims.to_string()));
        let signature = match self {
            Self::Rsa { key, .. } => key.sign(input.as_bytes()).to_vec(),
            Self::Es { key, .. } => {
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                signature.to_bytes().to_vec()
            }
            Self::Ed { key, .. } => {
                return danger::sign_with_header(key.signing_key(), header.as_bytes(), claims.to_string().as_bytes());
            }
        };
        format!("{input}.{}", b64::encode(signature))
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid()}), claims)
    }
}

/// Claims of a valid token for `user` with the provider roles `roles`, at the test clock's
/// start; `extra` replaces or adds claims.
fn claims(user: &str, roles: &[&str], extra: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "aud": ["account", AUDIENCE], "sub": format!("sub-{user}"),
        "preferred_username": user, "iat": T0 - 10, "exp": T0 + 3600,
        "realm_access": {"roles": roles},
    });
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

/// The provider: `GET /certs` answers the current key set, or 503 while `down`.
#[derive(Clone, Default)]
struct Idp {
    jwks: Arc<std::sync::Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Idp {
    async fn start(keys: &[&IdpKey]) -> (Self, String) {
        let idp = Self::default();
        idp.publish(keys);
        let app = Router::new().fallback(certs).with_state(idp.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/realms/acme/certs", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (idp, url)
    }

    fn publish(&self, keys: &[&IdpKey]) {
        *self.jwks.lock().unwrap() = json!({"keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>()});
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn certs(State(idp): State<Idp>) -> Response {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    if idp.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let jwks = idp.jwks.lock().unwrap().clone();
    ([("content-type", "application/jwk-set+json")], jwks.to_string()).into_response()
}

fn oidc_toml(jwks_url: &str) -> String {
    format!(
        "[staff_oidc]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_url = \"{jwks_url}\"\n\
         role_claim = \"realm_access.roles\"\nid_claim = \"preferred_username\"\njwks_cache_seconds = 600\n\
         [staff_oidc.roles]\nprivacy-handler = \"handler\"\ndpo = \"approver\"\nprivacy-auditor = \"auditor\"\n\
         gateway-admin = \"admin\"\n"
    )
}

async fn gateway_with_idp(keys: &[&IdpKey]) -> (TestGateway, Idp) {
    let (idp, url) = Idp::start(keys).await;
    (TestGateway::demo_with(&oidc_toml(&url)).await, idp)
}

async fn file(gw: &TestGateway, kind: &str) -> String {
    gw.portal_client().file_request("alice", &json!({"type": kind})).await.unwrap().id
}

#[tokio::test]
async fn provider_tokens_walk_a_request_through_its_phases() {
    let (rsa, ed, es) = (IdpKey::rsa(1), IdpKey::ed("ed-1"), IdpKey::es("es-1"));
    let (gw, idp) = gateway_with_idp(&[&rsa, &ed, &es]).await;
    assert_eq!(idp.fetches(), 0, "keys are fetched on the first token, not at start");
    let handler =
        StaffClient::new(&gw.url, &rsa.sign(&claims("hanna", &["offline_access", "privacy-handler"], json!({}))));
    let approver = StaffClient::new(&gw.url, &ed.sign(&claims("dirk.dpo", &["dpo"], json!({}))));
    let id = file(&gw, "erasure").await;
    assert_eq!(handler.advance(&id).await.unwrap().request.phase, "assessment");
    handler.meet(&id, &["scope_determined", "legal_holds_checked"]).await;
    assert_eq!(handler.advance(&id).await.unwrap().request.phase, "approval");
    assert_eq!(approver.advance(&id).await.unwrap().request.phase, "execution");
    let detail = handler.rights_request(&id).await.unwrap();
    let actors: Vec<&str> = detail.history.iter().map(|h| h.actor.as_str()).collect();
    assert!(actors.contains(&"staff:hanna") && actors.contains(&"staff:dirk.dpo"), "{actors:?}");
    // ES256, and RS256 as OpenSSL signs it, verify too.
    let auditor = StaffClient::new(&gw.url, &es.sign(&claims("audrey", &["privacy-auditor"], json!({}))));
    assert!(!auditor.register("").await.unwrap().requests.is_empty());
    let openssl = StaffClient::new(&gw.url, OPENSSL_TOKEN.trim());
    assert_eq!(openssl.rights_request(&id).await.unwrap().request.id, id);
    // Configured token digests still work beside the provider; the keys were fetched once.
    assert!(gw.staff_client(StaffRole::Handler).register("").await.is_ok());
    assert_eq!(idp.fetches(), 1);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn roles_map_by_the_documented_rule() {
    let rsa = IdpKey::rsa(1);
    let (gw, _idp) = gateway_with_idp(&[&rsa]).await;
    let id = file(&gw, "access").await;
    let token = |roles: &[&str]| StaffClient::new(&gw.url, &rsa.sign(&claims("m", roles, json!({}))));
    let criterion = json!({"criterion": "scope_determined"});
    // An auditor reads, and changes nothing.
    let auditor = token(&["privacy-auditor"]);
    assert_eq!(auditor.rights_request(&id).await.unwrap().request.id, id);
    let refused = auditor.step(&id, "advance", json!({})).await.unwrap_err();
    assert_eq!(refused.error_code.as_str(), "role_not_permitted");
    // Admin includes every role; an auditor role beside another adds nothing.
    assert!(token(&["dpo", "privacy-handler", "gateway-admin"]).advance(&id).await.is_ok());
    assert!(token(&["privacy-auditor", "privacy-handler"]).step(&id, "criteria", criterion).await.is_ok());
    // No mapped role, or handler and approver together: 403, even to read.
    for roles in [&[][..], &["offline_access"], &["privacy-handler", "dpo"]] {
        let response = token(roles).request(reqwest::Method::GET, "/v1/requests").send().await.unwrap();
        let body = assert_problem(response, 403, "role_not_permitted").await;
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    }
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_refused_with_401() {
    let (rsa, ed) = (IdpKey::rsa(1), IdpKey::ed("ed-1"));
    let (gw, idp) = gateway_with_idp(&[&rsa, &ed]).await;
    let handler = &["privacy-handler"][..];
    let good = claims("hanna", handler, json!({}));
    let header = |alg: &str, kid: &str| json!({"alg": alg, "typ": "JWT", "kid": kid});
    let unsigned =
        format!("{}.{}.", b64::encode(header("none", "test-rsa-1").to_string()), b64::encode(good.to_string()));
    let hs256 = format!(
        "{}.{}.{}",
        b64::encode(header("HS256", "test-rsa-1").to_string()),
        b64::encode(good.to_string()),
        b64::encode([7u8; 32])
    );
    let tampered = {
        let token = rsa.sign(&good);
        let parts: Vec<&str> = token.split('.').collect();
        let claims = claims("hanna", &["gateway-admin"], json!({}));
        format!("{}.{}.{}", parts[0], b64::encode(claims.to_string()), parts[2])
    };
    let mut jku = header("RS256", "test-rsa-1");
    jku["jku"] = json!("https://evil.example/certs");
    // Each case, named by words its problem's `detail` carries (none for an oversized token).
    let cases = [
        ("another issuer", rsa.sign(&claims("hanna", handler, json!({"iss": "https://evil.example/realms/acme"})))),
        ("another audience", rsa.sign(&claims("hanna", handler, json!({"aud": "account"})))),
        ("expired", rsa.sign(&claims("hanna", handler, json!({"exp": T0 - 61})))),
        ("\"exp\"", rsa.sign(&claims("hanna", handler, json!({"exp": null})))),
        ("\"nbf\"", rsa.sign(&claims("hanna", handler, json!({"nbf": T0 + 120})))),
        ("\"none\" is not accepted", unsigned),
        ("\"HS256\" is not accepted", hs256),
        ("signature does not verify", tampered),
        ("is for EdDSA, not RS256", rsa.sign_with_header(&header("RS256", "ed-1"), &good)),
        ("is for RS256, not EdDSA", ed.sign_with_header(&header("EdDSA", "test-rsa-1"), &good)),
        ("\"jku\" is not allowed", rsa.sign_with_header(&jku, &good)),
        ("dpop+jwt", rsa.sign_with_header(&json!({"alg": "RS256", "typ": "dpop+jwt", "kid": "test-rsa-1"}), &good)),
        ("ed-unknown", IdpKey::ed("ed-unknown").sign(&good)),
        ("preferred_username", rsa.sign(&claims("has space", handler, json!({})))),
        ("", rsa.sign(&claims("hanna", handler, json!({"pad": "x".repeat(20_000)})))),
        ("base64url", "a.b.c".to_owned()),
    ];
    for (why, token) in cases {
        let response =
            StaffClient::new(&gw.url, &token).request(reqwest::Method::GET, "/v1/requests").send().await.unwrap();
        let body = assert_problem(response, 401, "invalid_bearer_token").await;
        assert!(body["detail"].as_str().unwrap_or_default().contains(why), "{why}: {body}");
    }
    // An unknown kid fetches nothing more within the refetch interval.
    assert_eq!(idp.fetches(), 1);
    // A provider token opens no portal route.
    let token = rsa.sign(&good);
    let response = gw.portal_as(&token, reqwest::Method::GET, "/v1/subjects/alice/requests").send().await.unwrap();
    assert_problem(response, 401, "invalid_bearer_token").await;
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn rotated_keys_are_fetched_when_an_unknown_kid_arrives() {
    let (old, new) = (IdpKey::rsa(1), IdpKey::rsa(2));
    let (gw, idp) = gateway_with_idp(&[&old]).await;
    let read = |key: &IdpKey| StaffClient::new(&gw.url, &key.sign(&claims("hanna", &["privacy-handler"], json!({}))));
    assert!(read(&old).register("").await.is_ok());
    assert_eq!(idp.fetches(), 1);
    idp.publish(&[&new]);
    // Within the refetch interval an unknown kid fetches nothing.
    let refused = read(&new).register("").await.unwrap_err();
    assert_eq!(refused.error_code.as_str(), "invalid_bearer_token");
    assert_eq!(idp.fetches(), 1);
    gw.clock.advance(61);
    assert!(read(&new).register("").await.is_ok());
    assert_eq!(idp.fetches(), 2);
    assert!(read(&new).register("").await.is_ok(), "the new key is cached");
    assert_eq!(read(&old).register("").await.unwrap_err().error_code.as_str(), "invalid_bearer_token");
    assert_eq!(idp.fetches(), 2, "the withdrawn kid waits for the interval");
    // After the cache lifetime the set is fetched again even for a known kid.
    gw.clock.advance(600);
    assert!(read(&new).register("").await.is_ok());
    assert_eq!(idp.fetches(), 3);
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn provider_down_answers_503_and_the_gateway_recovers() {
    let rsa = IdpKey::rsa(1);
    let (idp, url) = Idp::start(&[&rsa]).await;
    idp.down.store(true, Ordering::SeqCst);
    // The gateway starts while the provider is down.
    let gw = TestGateway::demo_with(&oidc_toml(&url)).await;
    let staff = StaffClient::new(&gw.url, &rsa.sign(&claims("hanna", &["privacy-handler"], json!({}))));
    for _ in 0..2 {
        let response = staff.request(reqwest::Method::GET, "/v1/requests").send().await.unwrap();
        assert_problem(response, 503, "identity_provider_unavailable").await;
    }
    assert_eq!(idp.fetches(), 1, "a failed fetch is not retried within the refetch interval");
    // Configured token digests do not depend on the provider.
    assert!(gw.staff_client(StaffRole::Auditor).register("").await.is_ok());
    // A token that is no JWT never reaches the provider.
    let response =
        StaffClient::new(&gw.url, "not-a-jwt").request(reqwest::Method::GET, "/v1/requests").send().await.unwrap();
    assert_problem(response, 401, "invalid_bearer_token").await;
    idp.down.store(false, Ordering::SeqCst);
    gw.clock.advance(61);
    assert!(staff.register("").await.is_ok());
    // Down again past the cache lifetime: the keys fetched before stay in use.
    idp.down.store(true, Ordering::SeqCst);
    gw.clock.advance(601);
    assert!(staff.register("").await.is_ok());
    assert_eq!(idp.fetches(), 3);
    gw.stop().await.unwrap();

    // A provider that cannot be reached at all (nothing listens): 503 too, never a 500.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/certs", listener.local_addr().unwrap())
    };
    let gw = TestGateway::demo_with(&oidc_toml(&closed)).await;
    let response = StaffClient::new(&gw.url, &rsa.sign(&claims("hanna", &["privacy-handler"], json!({}))))
        .request(reqwest::Method::GET, "/v1/requests")
        .send()
        .await
        .unwrap();
    assert_problem(response, 503, "identity_provider_unavailable").await;
    gw.stop().await.unwrap();
}

#[test]
fn config_errors_name_the_key_and_line() {
    let load = |section: &str, vars: &[(&str, &str)]| {
        let text = format!("{}\n{section}", config::builtin_demo::CONFIG);
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        config::from_text(Origin::File("/etc/gw/gateway.toml".into()), &text, vars, Overrides::default())
    };
    let good = oidc_toml("https://idp.example.test/realms/acme/certs");
    let loaded = load(&good, &[]).unwrap();
    let oidc = loaded.config.staff_oidc.unwrap();
    assert_eq!((oidc.roles.len(), oidc.clock_leeway_seconds), (4, 60));
    for (from, to, key) in [
        ("jwks_url = \"https://", "jwks_url = \"http://", "staff_oidc.jwks_url"),
        ("issuer = \"https://idp.example.test/realms/acme\"", "issuer = \"idp\"", "staff_oidc.issuer"),
        ("audience = \"gdpr-gateway\"", "audience = \"\"", "staff_oidc.audience"),
        ("jwks_cache_seconds = 600", "jwks_cache_seconds = 0", "staff_oidc.jwks_cache_seconds"),
    ] {
        let section = good.replace(from, to);
        assert_ne!(section, good, "{from}");
        let err = load(&section, &[]).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains("/etc/gw/gateway.toml:"), "{key}: {err}");
    }
    let no_roles = good.split("[staff_oidc.roles]").next().unwrap().to_owned() + "[staff_oidc.roles]\n";
    assert!(load(&no_roles, &[]).unwrap_err().to_string().contains("staff_oidc.roles"));
    let bad_role = good.replace("dpo = \"approver\"", "dpo = \"dpo\"");
    let err = load(&bad_role, &[]).unwrap_err().to_string();
    assert!(err.contains("unknown variant") && err.contains("approver"), "{err}");
    let err = load(&good.replace("audience", "audiences"), &[]).unwrap_err().to_string();
    assert!(err.contains("audiences"), "{err}");
    // The environment overlay reaches the section, and its values are checked the same way.
    let env = load(&good, &[("GDPR_GATEWAY_STAFF_OIDC__AUDIENCE", "other")]).unwrap();
    assert_eq!(env.config.staff_oidc.unwrap().audience, "other");
    let err = load(&good, &[("GDPR_GATEWAY_STAFF_OIDC__CLOCK_LEEWAY_SECONDS", "3600")]).unwrap_err().to_string();
    assert!(err.contains("staff_oidc.clock_leeway_seconds"), "{err}");
}
