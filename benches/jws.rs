//! JOSE overhead: signing and verifying a compact JWS bundle against raw ed25519-dalek
//! `sign` / `verify_strict` over the same payload bytes. Results and ratios are recorded in
//! `docs/benchmarks.md`. Run: `cargo bench --no-default-features --bench jws`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::Signer;
use gdpr_gateway::jose::jws::{self, Policy};
use gdpr_gateway::jose::{Jwks, SigningKeyPair};

const SIZES: &[(usize, &str)] = &[(1024, "1KiB"), (1024 * 1024, "1MiB"), (10 * 1024 * 1024, "10MiB")];
const TYP: &str = "gdpr-bundle+jwt";

/// A JSON payload of `len` bytes, like a bundle's claims.
fn payload(len: usize) -> Vec<u8> {
    let mut text = String::from(r#"{"iss":"https://example.com","sub":"alice","data":""#);
    while text.len() < len - 2 {
        text.push_str("abcdefghij");
    }
    text.truncate(len - 2);
    text.push_str("\"}");
    text.into_bytes()
}

fn bench(c: &mut Criterion) {
    let key = SigningKeyPair::generate();
    let keys = Jwks { keys: vec![key.public_jwk().clone()] };
    let verifying = key.signing_key().verifying_key();
    let policy = Policy { typ: TYP, max_bytes: 64 * 1024 * 1024 };
    for &(len, label) in SIZES {
        let data = payload(len);
        let token = jws::sign(&key, TYP, &data);
        let raw_signature = key.signing_key().sign(&data);
        let mut group = c.benchmark_group(format!("jws_{label}"));
        group.throughput(Throughput::Bytes(len as u64));
        if len > 1024 * 1024 {
            group.sample_size(20);
        }
        group
            .bench_function(BenchmarkId::new("sign", "dalek"), |b| b.iter(|| key.signing_key().sign(black_box(&data))));
        group.bench_function(BenchmarkId::new("sign", "jws"), |b| b.iter(|| jws::sign(&key, TYP, black_box(&data))));
        group.bench_function(BenchmarkId::new("verify", "dalek"), |b| {
            b.iter(|| verifying.verify_strict(black_box(&data), &raw_signature).is_ok())
        });
        group.bench_function(BenchmarkId::new("verify", "jws"), |b| {
            b.iter(|| jws::verify(black_box(token.as_bytes()), &keys, policy).is_ok())
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
