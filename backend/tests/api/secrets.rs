//! Secrets at rest: bound to their row and column, named by their key, and re-sealed under a new key by
//! `insights-api rotate-secret-key` while the previous key still opens them.

use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine;
use insights_core::crypto::columns::{
    INTEGRATION_CREDENTIALS, INTEGRATION_WEBHOOK_SECRET, INVITATION_TOKEN,
};
use insights_core::crypto::{self, SealedAt, SecretBox};
use insights_core::db::{integrations, invitations};
use insights_core::sync;
use insights_testing::TestApp;
use insights_types::api::IntegrationKind;
use insights_types::{IntegrationId, InvitationId, OrgId, Role};
use secrecy::ExposeSecret;
use sqlx::Connection;
use std::process::Command;

/// What the code before secrets were bound to their place stored: `nonce || ciphertext`, no associated data.
fn legacy_seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let nonce: [u8; 12] = rand::random();
    let ct = aes_gcm::Aes256Gcm::new(key.into())
        .encrypt(&aes_gcm::Nonce::from(nonce), plaintext)
        .unwrap();
    [&nonce[..], &ct].concat()
}

fn current_key(app: &TestApp) -> [u8; 32] {
    app.config.general.secret_keys.expose_secret()[0]
}

/// Two integrations (the first with a webhook secret, the second with a credential in the legacy format) and
/// a pending invitation, sealed with the app's key.
struct Seeded {
    org: OrgId,
    a: IntegrationId,
    b: IntegrationId,
    invitation: InvitationId,
}

async fn seed(app: &TestApp) -> Seeded {
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let secrets = &app.state.secrets;
    let (a, b, invitation) = (
        IntegrationId::new(),
        IntegrationId::new(),
        InvitationId::new(),
    );
    let mut tx = app.state.db.org_tx(org, Some(owner.user_id)).await.unwrap();
    let options = serde_json::json!({});
    for (id, credentials, webhook_secret) in [
        (
            a,
            sync::seal_credential(secrets, a, "token-of-a"),
            Some(secrets.seal(&INTEGRATION_WEBHOOK_SECRET.row(a), b"hook-of-a")),
        ),
        (
            b,
            legacy_seal(&current_key(app), br#"{"secret":"token-of-b"}"#),
            None,
        ),
    ] {
        integrations::create(
            &mut tx,
            integrations::NewIntegration {
                id,
                kind: IntegrationKind::Pagerduty,
                name: "PD",
                region: None,
                credentials,
                options: &options,
                sync_interval_minutes: 15,
                webhook_secret,
                created_by: owner.user_id,
            },
        )
        .await
        .unwrap();
    }
    invitations::create(
        &mut tx,
        invitations::NewInvitation {
            id: invitation,
            email: "new@example.com",
            role: Role::Member,
            token_hash: &crypto::token_hash("invitation-token"),
            token_ciphertext: Some(
                secrets.seal(&INVITATION_TOKEN.row(invitation), b"invitation-token"),
            ),
            invited_by: owner.user_id,
            expires_at: chrono::Utc::now() + chrono::Duration::days(7),
            delivery_job_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Seeded {
        org,
        a,
        b,
        invitation,
    }
}

/// Every stored sealed value of the organization with its place, read back from the database.
async fn stored(app: &TestApp, s: &Seeded) -> Vec<(SealedAt, Vec<u8>, &'static [u8])> {
    let mut tx = app.state.db.org_tx(s.org, None).await.unwrap();
    let a = integrations::get(&mut tx, s.a).await.unwrap();
    let b = integrations::get(&mut tx, s.b).await.unwrap();
    let (_, token) = invitations::pending_token_ciphertext(&mut tx, s.invitation)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    vec![
        (
            INTEGRATION_CREDENTIALS.row(s.a),
            a.credentials,
            &br#"{"secret":"token-of-a"}"#[..],
        ),
        (
            INTEGRATION_WEBHOOK_SECRET.row(s.a),
            a.webhook_secret.unwrap(),
            b"hook-of-a",
        ),
        (
            INTEGRATION_CREDENTIALS.row(s.b),
            b.credentials,
            br#"{"secret":"token-of-b"}"#,
        ),
        (
            INVITATION_TOKEN.row(s.invitation),
            token,
            b"invitation-token",
        ),
    ]
}

async fn owner_connection(app: &TestApp) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sealed_secret_copied_to_another_row_or_column_does_not_open() {
    let app = TestApp::spawn(&[]).await;
    let s = seed(&app).await;
    let secrets = &app.state.secrets;
    // Someone with write access to the database copies integration A's credential into B's row, and A's
    // webhook secret over A's credential.
    let mut c = owner_connection(&app).await;
    sqlx::query(
        "UPDATE integrations SET credentials = (SELECT credentials FROM integrations WHERE id = $1) WHERE id = $2",
    )
    .bind(s.a.0)
    .bind(s.b.0)
    .execute(&mut c)
    .await
    .unwrap();
    let copied = stored(&app, &s).await;
    assert!(sync::open_credential(secrets, s.b, &copied[2].1).is_err());
    assert!(
        secrets
            .open(&INTEGRATION_CREDENTIALS.row(s.a), &copied[1].1)
            .is_err()
    );
    // In their own places they still open.
    assert_eq!(
        sync::open_credential(secrets, s.a, &copied[2].1)
            .unwrap()
            .expose_secret(),
        "token-of-a"
    );
    assert_eq!(
        secrets.open(&copied[1].0, &copied[1].1).unwrap(),
        b"hook-of-a"
    );
}

#[tokio::test]
async fn rotation_reseals_every_secret_under_the_new_key_so_the_old_key_can_be_removed() {
    let app = TestApp::spawn(&[]).await;
    let s = seed(&app).await;
    let old_key = current_key(&app);
    let new_key: [u8; 32] = rand::random();
    // Before: the legacy value opens too (the migration path), with the old key only.
    let before = stored(&app, &s).await;
    for (at, sealed, plain) in &before {
        assert_eq!(app.state.secrets.open(at, sealed).unwrap(), *plain);
        assert!(SecretBox::new(&new_key).open(at, sealed).is_err());
    }

    // The operator's procedure: the new key is current, the old one previous, then the command.
    let b64 = |k: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(k);
    let rotate = || {
        let out = Command::new(env!("CARGO_BIN_EXE_insights-api"))
            .arg("rotate-secret-key")
            .env_clear()
            .env("DATABASE_URL", app.config.database.url.expose_secret())
            .env("REDIS_URL", std::env::var("REDIS_URL").unwrap())
            .env("INSIGHTS_JWT_SECRET", crypto::random_token())
            .env("INSIGHTS_SECRET_KEY", b64(&new_key))
            .env("INSIGHTS_SECRET_KEY_PREVIOUS", b64(&old_key))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first = rotate();
    assert!(
        first.contains("4 secret(s) re-sealed, 0 already under the current key"),
        "{first}"
    );
    // Running it again has nothing left to do.
    let second = rotate();
    assert!(
        second.contains("0 secret(s) re-sealed, 4 already under the current key"),
        "{second}"
    );

    // After: the new key alone opens everything, each value only in its place; the old key opens nothing.
    let after = stored(&app, &s).await;
    let new_only = SecretBox::new(&new_key);
    for (at, sealed, plain) in &after {
        assert_eq!(new_only.open(at, sealed).unwrap(), *plain, "{at:?}");
        assert!(new_only.is_current(sealed));
        assert!(SecretBox::new(&old_key).open(at, sealed).is_err());
    }
    assert!(new_only.open(&after[0].0, &after[2].1).is_err());
}

#[tokio::test]
async fn a_value_no_configured_key_opens_stops_the_rotation_without_changing_its_organization() {
    let app = TestApp::spawn(&[]).await;
    let s = seed(&app).await;
    let before = stored(&app, &s).await;
    // The old key was dropped too early: nothing is rewritten, and the error names the place.
    let err = insights_core::secrets::rotate(&app.state.db, &SecretBox::new(&rand::random()))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("integrations.credentials"),
        "{err}"
    );
    let after = stored(&app, &s).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.1, a.1);
    }
}
