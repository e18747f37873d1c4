//! Reading a whole body (a request's, to classify it; a small answer's, to write it back with
//! its head) without `http_body_util`'s `Collect`.
//!
//! An AWS API body arrives as one data frame (hyper hands over what the read buffer holds): the
//! frame is the body, kept as it is (no copy, no frame list). `Collect` keeps a frame list,
//! merges it, and polls the body once more after its last byte to learn that it ended; here a
//! body whose length is known ends with its last byte. ~0.7k instructions per proxied request
//! (callgrind; docs/src/benchmarks.md).

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Body;

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum WholeBodyError<E> {
    /// The body is longer than the limit.
    TooLarge,
    /// Reading it failed (the peer went away, a broken chunk).
    Read(E),
}

impl<E: std::fmt::Display> std::fmt::Display for WholeBodyError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WholeBodyError::TooLarge => f.write_str("body longer than the limit"),
            WholeBodyError::Read(e) => e.fmt(f),
        }
    }
}

/// The whole body, at most `limit` bytes.
pub(crate) async fn whole_body<B>(body: B, limit: usize) -> Result<Bytes, WholeBodyError<B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut body = body;
    if body.size_hint().lower() > limit as u64 {
        return Err(WholeBodyError::TooLarge);
    }
    let mut first = Bytes::new();
    // Frames after the first, appended to a copy of it (rare: chunked or slow bodies).
    let mut joined: Option<BytesMut> = None;
    let mut len = 0usize;
    while !body.is_end_stream() {
        let Some(frame) = body.frame().await else {
            break;
        };
        let Ok(data) = frame.map_err(WholeBodyError::Read)?.into_data() else {
            // Trailers: not part of the body.
            continue;
        };
        len += data.len();
        if len > limit {
            return Err(WholeBodyError::TooLarge);
        }
        if let Some(joined) = &mut joined {
            joined.extend_from_slice(&data);
        } else if first.is_empty() {
            first = data;
        } else {
            let mut j = BytesMut::with_capacity(len);
            j.extend_from_slice(&first);
            j.extend_from_slice(&data);
            joined = Some(j);
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;

    type Chunks = StreamBody<stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, String>>>>;

    fn chunks(parts: &[&'static str]) -> Chunks {
        let frames: Vec<Result<Frame<Bytes>, String>> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        StreamBody::new(stream::iter(frames))
    }

    #[tokio::test]
    async fn one_frame_is_the_body_and_more_are_joined() {
        let one = whole_body(Full::new(Bytes::from_static(b"{}")), 10)
            .await
            .unwrap();
        assert_eq!(&one[..], b"{}");
        let empty = whole_body(Full::new(Bytes::new()), 10).await.unwrap();
        assert!(empty.is_empty());
        let many = whole_body(chunks(&["Action=", "", "GetRole", "&x=1"]), 100)
            .await
            .unwrap();
        assert_eq!(&many[..], b"Action=GetRole&x=1");
    }

    #[tokio::test]
    async fn over_the_limit_or_broken_is_an_error() {
        let big = whole_body(Full::new(Bytes::from_static(b"12345")), 4).await;
        assert!(matches!(big, Err(WholeBodyError::TooLarge)));
        let big = whole_body(chunks(&["123", "45"]), 4).await;
        assert!(matches!(big, Err(WholeBodyError::TooLarge)));
        let broken: Vec<Result<Frame<Bytes>, String>> = vec![
            Ok(Frame::data(Bytes::from_static(b"12"))),
            Err("gone".to_string()),
        ];
        let broken = whole_body(StreamBody::new(stream::iter(broken)), 10).await;
        assert!(matches!(broken, Err(WholeBodyError::Read(e)) if e == "gone"));
    }
}
