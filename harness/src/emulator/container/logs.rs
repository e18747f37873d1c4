//! Why this file exists: everything a container prints goes to a log file under
//! `<target>/harness/logs/`, whose path every failure names. This is the testcontainers log
//! consumer that appends each frame to that file.

use std::io::Write;
use std::sync::Mutex;

use futures::future::BoxFuture;
use futures::FutureExt;
use testcontainers::core::logs::consumer::LogConsumer;
use testcontainers::core::logs::LogFrame;

/// Appends every frame the container prints (stdout and stderr) to the log file.
pub(super) struct FileLogConsumer {
    file: Mutex<std::fs::File>,
}

impl FileLogConsumer {
    pub(super) fn new(file: std::fs::File) -> FileLogConsumer {
        FileLogConsumer {
            file: Mutex::new(file),
        }
    }
}

impl LogConsumer for FileLogConsumer {
    fn accept<'a>(&'a self, record: &'a LogFrame) -> BoxFuture<'a, ()> {
        async move {
            let bytes = match record {
                LogFrame::StdOut(b) | LogFrame::StdErr(b) => b,
            };
            if let Ok(mut f) = self.file.lock() {
                let _ = f.write_all(bytes);
            }
        }
        .boxed()
    }
}
