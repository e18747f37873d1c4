//! Per-service routing: which emulator answers which AWS service.
//!
//! One proxy endpoint can sit in front of several emulators, e.g. LocalStack for IAM, STS and
//! CloudWatch Logs and moto for ECS, ECR and EC2. A [`Route`] names services and the upstream
//! (URL and flavor) that serves them; on the command line it reads
//! `SERVICES=URL@FLAVOR` (`iam,sts,logs=http://127.0.0.1:4566@localstack`). A request whose
//! classified service is in a route goes to that route's upstream, with that route's flavor
//! (moto gets `x-moto-account-id`, LocalStack takes the account from the access key id); every
//! other request, including unclassifiable ones, goes to the proxy's main upstream, and there to
//! the account's shard when the main upstream is several processes (`shards.rs`: routing by
//! service and by account are two independent choices). The models' own calls are routed the
//! same way (an IAM call of the service-linked-role model goes to the IAM route, or to the
//! account's shard). [`Upstreams`] is the routing table the running proxy uses.
//!
//! `@FLAVOR` is required: a route cannot be probed the way `--flavor auto` probes the main
//! upstream, because a wrong guess would silently lose the account (moto's header).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::aws::classify::RequestInfo;
use crate::aws::Service;
use crate::shards::shard_of;
use crate::upstream::{Upstream, UpstreamFlavor};

/// The command-line form, for error messages and `--help`.
pub const ROUTE_SYNTAX: &str = "SERVICES=URL@FLAVOR, e.g. iam,sts,logs=http://127.0.0.1:4566@localstack (FLAVOR: moto, localstack or other)";

/// Services answered by another upstream than the proxy's main one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The services routed (each at most once over all routes of a proxy).
    pub services: Vec<Service>,
    /// The emulator, `http://host:port` (a path prefix is kept).
    pub url: url::Url,
    /// How the account is passed on to it.
    pub flavor: UpstreamFlavor,
}

/// A route that cannot be parsed or used; the message names the part that is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("route {0}")]
pub struct RouteError(String);

impl Route {
    pub fn new(
        services: impl IntoIterator<Item = Service>,
        url: url::Url,
        flavor: UpstreamFlavor,
    ) -> Route {
        Route {
            services: services.into_iter().collect(),
            url,
            flavor,
        }
    }

    fn services_text(&self) -> String {
        let names: Vec<&str> = self.services.iter().map(|s| s.name()).collect();
        names.join(",")
    }
}

impl fmt::Display for Route {
    /// The command-line form (the URL without user info).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        write!(f, "{}={url}@{}", self.services_text(), self.flavor)
    }
}

impl FromStr for Route {
    type Err = RouteError;

    fn from_str(text: &str) -> Result<Route, RouteError> {
        let text = text.trim();
        let Some((services, target)) = text.split_once('=') else {
            return Err(RouteError(format!(
                "{text:?}: no \"=\"; expected {ROUTE_SYNTAX}"
            )));
        };
        let services = parse_services(services)?;
        let (url, flavor) = parse_target(target.trim())?;
        Ok(Route {
            services,
            url,
            flavor,
        })
    }
}

/// `iam,sts,CloudWatchLogs` -> the services (canonical names or aliases, case-insensitive).
fn parse_services(text: &str) -> Result<Vec<Service>, RouteError> {
    let mut services = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(RouteError(format!(
                "services {text:?}: an empty service name; expected {ROUTE_SYNTAX}"
            )));
        }
        let Some(service) = Service::from_name(name) else {
            let near = crate::aws::service::closest_services(name);
            return Err(RouteError(format!(
                "services {text:?}: unknown service {name:?}; did you mean {}? (botocore's service names)",
                near.join(", ")
            )));
        };
        if services.contains(&service) {
            return Err(RouteError(format!(
                "services {text:?}: {} named twice",
                service.name()
            )));
        }
        services.push(service);
    }
    Ok(services)
}

/// `http://host:port@flavor` -> URL and flavor.
fn parse_target(text: &str) -> Result<(url::Url, UpstreamFlavor), RouteError> {
    let flavor_missing = || {
        RouteError(format!(
            "target {text:?}: no \"@FLAVOR\" after the URL; expected {ROUTE_SYNTAX}"
        ))
    };
    let (url, flavor) = text.rsplit_once('@').ok_or_else(flavor_missing)?;
    if flavor.contains([':', '/']) {
        // The `@` belonged to the URL's user info.
        return Err(flavor_missing());
    }
    let flavor: UpstreamFlavor = flavor
        .parse()
        .map_err(|e| RouteError(format!("target {text:?}: {e}")))?;
    let parsed: url::Url = url
        .parse()
        .map_err(|e| RouteError(format!("URL {url:?}: {e}; expected http://HOST:PORT")))?;
    if parsed.scheme() != "http" {
        return Err(RouteError(format!(
            "URL {url:?}: only http:// upstreams (local emulators) are supported"
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(RouteError(format!(
            "URL {url:?}: no host; expected http://HOST:PORT"
        )));
    }
    Ok((parsed, flavor))
}

/// The running proxy's upstreams: the main one (one or several shards, `shards.rs`) and one
/// per route, with the upstream of each known service.
pub(crate) struct Upstreams {
    /// `[..shards]` the main upstream's shards, `[shards..]` the routes' in their order.
    all: Vec<Upstream>,
    /// How many of `all` are the main upstream's shards (at least 1).
    shards: usize,
    /// Per service (`Service as usize`): its index in `all`, [`MAIN`] for the main upstream.
    by_service: Vec<usize>,
    /// The routes, as `SERVICES=URL@FLAVOR` (control API, logs).
    routes: Vec<String>,
}

/// `by_service`'s mark for "the main upstream": which shard depends on the account.
const MAIN: usize = usize::MAX;

impl Upstreams {
    /// Builds the table with an unsharded main upstream (the models' and routes' tests).
    #[cfg(test)]
    pub fn new(
        main: Upstream,
        routes: &[Route],
        connect_timeout: Duration,
        threads: usize,
    ) -> Result<Upstreams, RouteError> {
        Upstreams::sharded(vec![main], routes, connect_timeout, threads)
    }

    /// Builds the table of the main upstream spread over `shards` (at least one; each account
    /// on the shard [`shard_of`] names) and the routes; a service named in two routes, or a
    /// route URL that cannot be used, is an error.
    pub fn sharded(
        shards: Vec<Upstream>,
        routes: &[Route],
        connect_timeout: Duration,
        threads: usize,
    ) -> Result<Upstreams, RouteError> {
        assert!(
            !shards.is_empty(),
            "the main upstream has at least one shard"
        );
        let count = shards.len();
        let mut all = shards;
        let mut by_service = vec![MAIN; Service::all().count()];
        let mut routed_by: Vec<Option<&Route>> = vec![None; by_service.len()];
        for route in routes {
            if route.services.is_empty() {
                return Err(RouteError(format!("{route}: names no service")));
            }
            for &service in &route.services {
                if let Some(earlier) = routed_by[service.index()] {
                    return Err(RouteError(format!(
                        "{route}: {} is already routed by {earlier}; name each service in one route only",
                        service.name()
                    )));
                }
                routed_by[service.index()] = Some(route);
                by_service[service.index()] = all.len();
            }
            let upstream = Upstream::new(&route.url, route.flavor)
                .map_err(|e| RouteError(format!("{route}: {e}")))?
                .with_connect_timeout(connect_timeout)
                .with_serving_threads(threads);
            all.push(upstream);
        }
        let routes = routes.iter().map(Route::to_string).collect();
        Ok(Upstreams {
            all,
            shards: count,
            by_service,
            routes,
        })
    }

    /// The main upstream's first shard (its flavor is the main upstream's).
    pub fn main(&self) -> &Upstream {
        &self.all[0]
    }

    /// The main upstream's shard that serves `account` (the first one without an account).
    pub fn main_for(&self, account: Option<&str>) -> &Upstream {
        match account {
            Some(account) if self.shards > 1 => &self.all[shard_of(account, self.shards)],
            _ => self.main(),
        }
    }

    /// The routes, as `SERVICES=URL@FLAVOR`.
    pub fn routes(&self) -> &[String] {
        &self.routes
    }

    /// The main upstream's shards, as `http://host:port` (control API).
    pub fn shard_urls(&self) -> Vec<String> {
        self.all[..self.shards]
            .iter()
            .map(|u| u.display().to_string())
            .collect()
    }

    /// The upstream that serves `service` for `account`: its route's, else the account's shard.
    pub fn for_service(&self, service: Service, account: Option<&str>) -> &Upstream {
        match self.by_service[service.index()] {
            MAIN => self.main_for(account),
            routed => &self.all[routed],
        }
    }

    /// The upstream a classified request goes to.
    pub fn for_info(&self, info: &RequestInfo) -> &Upstream {
        if self.all.len() == 1 {
            return self.main();
        }
        match info.service {
            Some(service) => self.for_service(service, info.account.as_deref()),
            None => self.main_for(info.account.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(text: &str) -> Route {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        text.parse::<Route>().unwrap_err().to_string()
    }

    #[test]
    fn parses_services_url_and_flavor() {
        let r = route("iam,sts,CloudWatchLogs=http://127.0.0.1:4566@localstack");
        assert_eq!(r.services, [Service::IAM, Service::STS, Service::LOGS]);
        assert_eq!(r.url.as_str(), "http://127.0.0.1:4566/");
        assert_eq!(r.flavor, UpstreamFlavor::LocalStack);
        assert_eq!(
            r.to_string(),
            "iam,sts,logs=http://127.0.0.1:4566/@localstack"
        );
        assert_eq!(route(&r.to_string()), r, "Display round-trips");
        let r = route(" ECS , ecr=http://moto:5000/base@MOTO ");
        assert_eq!(r.services, [Service::ECS, Service::ECR]);
        assert_eq!(r.url.path(), "/base");
        assert_eq!(r.flavor, UpstreamFlavor::Moto);
        let r = route("ec2=http://u:pw@h:1@other");
        assert_eq!(r.flavor, UpstreamFlavor::Other);
        assert!(!r.to_string().contains("pw"), "no user info shown");
    }

    #[test]
    fn each_bad_form_names_its_part() {
        let e = err("iam http://h:1@moto");
        assert!(
            e.contains("no \"=\"") && e.contains("SERVICES=URL@FLAVOR"),
            "{e}"
        );
        let e = err("=http://h:1@moto");
        assert!(e.contains("empty service name"), "{e}");
        let e = err("iam,,sts=http://h:1@moto");
        assert!(e.contains("empty service name"), "{e}");
        let e = err("iam,lamda=http://h:1@moto");
        assert!(
            e.contains("unknown service \"lamda\"") && e.contains("did you mean lambda"),
            "{e}"
        );
        assert_eq!(
            route("s3,lambda,apigateway=http://h:1@moto").services,
            [Service::S3, Service::LAMBDA, Service::APIGATEWAY]
        );
        let e = err("iam,IAM=http://h:1@moto");
        assert!(e.contains("iam named twice"), "{e}");
        let e = err("iam=http://h:1");
        assert!(e.contains("no \"@FLAVOR\""), "{e}");
        let e = err("iam=http://u@h:1");
        assert!(e.contains("no \"@FLAVOR\""), "{e}");
        let e = err("iam=http://h:1@floci");
        assert!(e.contains("unknown upstream flavor \"floci\""), "{e}");
        let e = err("iam=https://h:1@moto");
        assert!(e.contains("only http://"), "{e}");
        let e = err("iam=not a url@moto");
        assert!(e.contains("URL \"not a url\""), "{e}");
    }

    fn up(port: u16, flavor: UpstreamFlavor) -> Upstream {
        Upstream::new(&format!("http://127.0.0.1:{port}").parse().unwrap(), flavor).unwrap()
    }

    fn info(service: Option<&str>) -> RequestInfo {
        RequestInfo {
            service: service.and_then(Service::from_name),
            ..RequestInfo::default()
        }
    }

    #[test]
    fn routing_decision() {
        let routes = [
            route("iam,sts,logs=http://127.0.0.1:4566@localstack"),
            route("ec2=http://127.0.0.1:7000@other"),
        ];
        let t = Upstreams::new(
            up(5000, UpstreamFlavor::Moto),
            &routes,
            Duration::from_secs(1),
            0,
        )
        .unwrap();
        let at = |s: Option<&str>| t.for_info(&info(s)).display().to_string();
        assert_eq!(at(Some("iam")), "http://127.0.0.1:4566");
        assert_eq!(at(Some("logs")), "http://127.0.0.1:4566");
        assert_eq!(at(Some("ec2")), "http://127.0.0.1:7000");
        assert_eq!(at(Some("ecs")), "http://127.0.0.1:5000");
        assert_eq!(at(Some("s3")), "http://127.0.0.1:5000", "not routed");
        assert_eq!(at(None), "http://127.0.0.1:5000", "unclassified");
        assert_eq!(
            t.for_service(Service::STS, None).flavor,
            UpstreamFlavor::LocalStack
        );
        assert_eq!(
            t.for_service(Service::ECR, None).flavor,
            UpstreamFlavor::Moto
        );
        let plain = Upstreams::new(up(5000, UpstreamFlavor::Moto), &[], Duration::ZERO, 0).unwrap();
        assert_eq!(
            plain.for_service(Service::IAM, None).display(),
            "http://127.0.0.1:5000"
        );
    }

    #[test]
    fn accounts_go_to_their_shard_and_routed_services_to_their_route() {
        let shards = (0..3)
            .map(|i| up(5000 + i, UpstreamFlavor::Moto).in_shard(usize::from(i) + 1, 3, ""))
            .collect();
        let routes = [route("iam=http://127.0.0.1:4566@localstack")];
        let t = Upstreams::sharded(shards, &routes, Duration::ZERO, 0).unwrap();
        let at = |service: &str, account: Option<&str>| {
            let info = RequestInfo {
                account: account.map(str::to_string),
                ..info(Some(service))
            };
            t.for_info(&info).display().to_string()
        };
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..60u64 {
            let account = format!("{}", 100_000_000_000 + n * 104_729);
            let expected = format!("http://127.0.0.1:{}", 5000 + shard_of(&account, 3));
            for service in ["ecs", "ec2", "logs"] {
                assert_eq!(at(service, Some(&account)), expected, "{account} {service}");
            }
            assert_eq!(
                t.for_service(Service::ECS, Some(&account)).display(),
                expected,
                "a model's own call goes where the client's calls go"
            );
            assert_eq!(at("iam", Some(&account)), "http://127.0.0.1:4566");
            seen.insert(expected);
        }
        assert_eq!(seen.len(), 3, "60 accounts reach every shard");
        assert_eq!(
            at("ecs", None),
            "http://127.0.0.1:5000",
            "no account: shard 1"
        );
        assert_eq!(t.shard_urls().len(), 3);
        assert_eq!(
            t.main_for(Some("123456789012")).describe(),
            format!(
                "http://127.0.0.1:{} (moto shard {} of 3)",
                5000 + shard_of("123456789012", 3),
                shard_of("123456789012", 3) + 1
            )
        );
    }

    #[test]
    fn a_service_in_two_routes_is_a_config_error() {
        let routes = [
            route("iam,logs=http://127.0.0.1:4566@localstack"),
            route("ecs,logs=http://127.0.0.1:5001@moto"),
        ];
        let e = Upstreams::new(up(5000, UpstreamFlavor::Moto), &routes, Duration::ZERO, 0)
            .err()
            .expect("rejected")
            .to_string();
        assert!(
            e.contains("logs is already routed by iam,logs=http://127.0.0.1:4566/@localstack"),
            "{e}"
        );
        let empty = [Route::new(
            [],
            "http://h:1".parse().unwrap(),
            UpstreamFlavor::Moto,
        )];
        let e = Upstreams::new(up(5000, UpstreamFlavor::Moto), &empty, Duration::ZERO, 0)
            .err()
            .expect("rejected")
            .to_string();
        assert!(e.contains("names no service"), "{e}");
    }
}
