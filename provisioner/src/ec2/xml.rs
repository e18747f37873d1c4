//! Why this file exists: EC2 Query answers are XML (`<DescribeVpcsResponse><vpcSet><item>...`),
//! errors too (`<Response><Errors><Error><Code/><Message/>`). These readers pull out exactly the
//! elements a caller names by path, ignoring namespaces and same-named elements nested deeper
//! (a security group's `ipPermissions` also hold `groupId`s).

use std::collections::HashMap;

use quick_xml::events::Event;

use crate::error::{AwsError, CallInfo};

/// Texts of the elements at exactly `path` below the root element (namespaces ignored).
pub fn texts_at(xml: &str, path: &[&str]) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                if below_root_is(&stack, path) {
                    current = Some(String::new());
                }
            }
            Ok(Event::Empty(e)) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                if below_root_is(&stack, path) {
                    out.push(String::new());
                }
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                if let (Some(c), Ok(s)) = (current.as_mut(), t.unescape()) {
                    c.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::End(_)) => {
                if below_root_is(&stack, path) {
                    if let Some(c) = current.take() {
                        out.push(c.trim().to_owned());
                    }
                }
                stack.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// For each element at exactly `item_path` below the root, the texts of its direct children
/// named in `fields` (a field missing from an item is missing from its map).
pub fn items_at(xml: &str, item_path: &[&str], fields: &[&str]) -> Vec<HashMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut item: Option<HashMap<String, String>> = None;
    let mut field: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(name.clone());
                if below_root_is(&stack, item_path) {
                    item = Some(HashMap::new());
                } else if is_field(&stack, item_path, fields) {
                    field = Some((name, String::new()));
                }
            }
            Ok(Event::Text(t)) => {
                if let (Some((_, text)), Ok(s)) = (field.as_mut(), t.unescape()) {
                    text.push_str(&s);
                }
            }
            Ok(Event::End(_)) => {
                if below_root_is(&stack, item_path) {
                    out.extend(item.take());
                } else if let (Some((name, text)), Some(map)) = (field.take(), item.as_mut()) {
                    map.insert(name, text.trim().to_owned());
                }
                stack.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// `stack` (root first) is the root element followed by exactly `path`.
fn below_root_is(stack: &[String], path: &[&str]) -> bool {
    stack.len() == path.len() + 1 && stack[1..].iter().zip(path).all(|(a, b)| a == b)
}

/// `stack` is a direct child of an item at `item_path`, named in `fields`.
fn is_field(stack: &[String], item_path: &[&str], fields: &[&str]) -> bool {
    stack.len() == item_path.len() + 2
        && below_root_is(&stack[..stack.len() - 1], item_path)
        && fields.contains(&stack[stack.len() - 1].as_str())
}

/// EC2's `<Response><Errors><Error><Code/><Message/>` (or the `<ErrorResponse><Error>` form).
pub fn parse_error(operation: &str, xml: &str) -> Option<AwsError> {
    for base in [&["Errors", "Error"][..], &["Error"][..]] {
        let code_path: Vec<&str> = base.iter().copied().chain(["Code"]).collect();
        let msg_path: Vec<&str> = base.iter().copied().chain(["Message"]).collect();
        if let Some(code) = texts_at(xml, &code_path).into_iter().next() {
            let message = texts_at(xml, &msg_path)
                .into_iter()
                .next()
                .unwrap_or_default();
            return Some(AwsError {
                operation: operation.to_owned(),
                code,
                message,
                status: None,
                call: CallInfo::boxed(
                    Some("ec2".to_owned()),
                    texts_at(xml, &["RequestID"])
                        .into_iter()
                        .chain(texts_at(xml, &["RequestId"]))
                        .next(),
                ),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <securityGroupInfo>
    <item>
      <ownerId>123456789012</ownerId>
      <groupId>sg-0default</groupId>
      <groupName>default</groupName>
      <ipPermissions><item><groups><item><groupId>sg-other</groupId></item></groups></item></ipPermissions>
    </item>
  </securityGroupInfo>
</DescribeSecurityGroupsResponse>"#;

    #[test]
    fn reads_security_group_ids_at_the_right_depth() {
        assert_eq!(
            texts_at(GROUPS, &["securityGroupInfo", "item", "groupId"]),
            vec!["sg-0default"]
        );
    }

    #[test]
    fn reads_direct_fields_of_items_only() {
        let got = items_at(
            GROUPS,
            &["securityGroupInfo", "item"],
            &["groupId", "groupName"],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["groupId"], "sg-0default");
        assert_eq!(got[0]["groupName"], "default");
    }

    #[test]
    fn items_keep_each_subnet_with_its_zone() {
        let xml = "<DescribeSubnetsResponse><subnetSet>\
            <item><subnetId>subnet-b</subnetId><availabilityZone>ap-northeast-1a</availabilityZone></item>\
            <item><availabilityZone>ap-northeast-1c</availabilityZone></item>\
            </subnetSet></DescribeSubnetsResponse>";
        let got = items_at(
            xml,
            &["subnetSet", "item"],
            &["subnetId", "availabilityZone"],
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["subnetId"], "subnet-b");
        assert_eq!(got[0]["availabilityZone"], "ap-northeast-1a");
        assert!(!got[1].contains_key("subnetId"));
    }

    #[test]
    fn reads_ec2_errors() {
        let xml = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized &amp; denied.</Message></Error></Errors><RequestID>x</RequestID></Response>";
        let e = parse_error("DescribeVpcs", xml).unwrap();
        assert_eq!(
            e.to_string(),
            "DescribeVpcs: UnauthorizedOperation: You are not authorized & denied."
        );
        assert!(parse_error("DescribeVpcs", "<ok/>").is_none());
    }
}
