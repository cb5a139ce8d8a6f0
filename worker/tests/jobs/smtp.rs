//! A minimal SMTP server for tests: speaks enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, QUIT),
//! records each message, and can refuse the first N conversations with a 421 to exercise retries.

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

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Listens on a free loopback port; the first `refuse` conversations get `421` and are closed.
    pub async fn start(refuse: usize) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                let refuse_this = refused.fetch_add(1, Ordering::SeqCst) < refuse;
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
        SmtpSink { port, mails }
    }

    pub async fn messages(&self) -> Vec<Mail> {
        self.mails.lock().await.clone()
    }
}
