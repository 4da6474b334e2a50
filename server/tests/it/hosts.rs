//! Hosts of a test on a network of their own: Linux network namespaces (iproute2's `ip netns`)
//! joined by a bridge. Each host has its own address, its own loopback and no route to this
//! host's, so processes started on it reach the others only at the addresses they advertise,
//! as on machines of their own. Making them needs root; `./dev.sh test` skips the tests that
//! use them where it runs without (never under CI).

use std::process::Command;

/// `count` hosts, and this host on their network at [`Hosts::gateway`]; all removed when
/// dropped.
pub struct Hosts {
    bridge: String,
    namespaces: Vec<String>,
    subnet: String,
}

impl Hosts {
    pub fn create(count: usize) -> Self {
        // Names and a subnet of this test process, so that runs side by side do not meet.
        let tag = std::process::id() % 100_000;
        let hosts = Self {
            bridge: format!("slbr{tag}"),
            namespaces: (0..count).map(|i| format!("soundlake-{tag}-{i}")).collect(),
            subnet: format!("10.{}.{}", 100 + tag % 100, tag / 100 % 250),
        };
        hosts.remove();
        ip(&["link", "add", &hosts.bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", hosts.gateway()),
            "dev",
            &hosts.bridge,
        ]);
        ip(&["link", "set", &hosts.bridge, "up"]);
        for (i, namespace) in hosts.namespaces.iter().enumerate() {
            let cable = format!("sl{tag}v{i}");
            ip(&["netns", "add", namespace]);
            ip(&[
                "link", "add", &cable, "type", "veth", "peer", "name", "eth0", "netns", namespace,
            ]);
            ip(&["link", "set", &cable, "master", &hosts.bridge]);
            ip(&["link", "set", &cable, "up"]);
            let address = format!("{}/24", hosts.address(i));
            ip(&["-n", namespace, "addr", "add", &address, "dev", "eth0"]);
            ip(&["-n", namespace, "link", "set", "eth0", "up"]);
            ip(&["-n", namespace, "link", "set", "lo", "up"]);
        }
        hosts
    }

    /// This host's address on the hosts' network.
    pub fn gateway(&self) -> String {
        format!("{}.1", self.subnet)
    }

    /// Host `i`'s address.
    pub fn address(&self, i: usize) -> String {
        format!("{}.{}", self.subnet, i + 2)
    }

    /// A command that runs `program` on host `i`.
    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespaces[i], program]);
        command
    }

    fn remove(&self) {
        for namespace in &self.namespaces {
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        self.remove();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2's ip (Debian: iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {} (network namespaces need root)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
