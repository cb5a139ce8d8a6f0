//! A minimal SMTP server for tests: speaks enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, QUIT),
//! records each message, and can refuse the first N conversations with a 421 to exercise retries. Shared by
//! the worker's tests and the browser tests, which read the links of the emails the product sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub rcpt: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The message as text, quoted-printable undone (soft line breaks, `=XX` escapes).
    #[must_use]
    pub fn text(&self) -> String {
        let joined = self.data.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The first link of the message to the web app's `page` (e.g. `join`), as written in it.
    #[must_use]
    pub fn link_to(&self, page: &str) -> Option<String> {
        let text = self.text();
        let needle = format!("/{page}#token=");
        let at = text.find(&needle)?;
        let start = text[..at].rfind("http")?;
        let end = text[at..]
            .find(char::is_whitespace)
            .map_or(text.len(), |e| at + e);
        Some(text[start..end].to_owned())
    }

    /// The token in the fragment of the message's link to `page`.
    #[must_use]
    pub fn token_for(&self, page: &str) -> Option<String> {
        let link = self.link_to(page)?;
        Some(link.split_once("#token=")?.1.to_owned())
    }
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    /// How many of the next conversations to refuse.
    refuse: Arc<AtomicUsize>,
}

impl SmtpSink {
    /// Listens on a free loopback port; the first `refuse` conversations get `421` and are closed.
    pub async fn start(refuse: usize) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let to_refuse = Arc::new(AtomicUsize::new(refuse));
        let refusals = to_refuse.clone();
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                let refuse_this = refusals
                    .try_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    if refuse_this {
                        let _ = w.write_all(b"421 4.3.2 try again later\r\n").await;
                        return;
                    }
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut mail = Mail::default();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("MAIL FROM:") {
                            mail.from = line[10..].trim().to_owned();
                            b"250 ok\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            mail.rcpt.push(line[8..].trim().to_owned());
                            b"250 ok\r\n"
                        } else if upper == "DATA" {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                mail.data.push_str(&l);
                                mail.data.push('\n');
                            }
                            store.lock().await.push(std::mem::take(&mut mail));
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else if upper == "RSET" || upper == "NOOP" {
                            b"250 ok\r\n"
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink {
            port,
            mails,
            refuse: to_refuse,
        }
    }

    /// Refuses the next `n` conversations with a `421`.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    pub async fn messages(&self) -> Vec<Mail> {
        self.mails.lock().await.clone()
    }

    /// The messages sent to `address`.
    pub async fn messages_to(&self, address: &str) -> Vec<Mail> {
        let rcpt = format!("<{address}>");
        let mut mails = self.messages().await;
        mails.retain(|m| m.rcpt.contains(&rcpt));
        mails
    }

    /// The messages once there are at least `n`; panics after 30 seconds.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mails = self.messages().await;
            if mails.len() >= n {
                return mails;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} email(s) within 30 s, got {}",
                mails.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
