// One program, many behaviours, chosen by the first word on stdin (compiled once per test run).
use std::io::{self, Read, Write};

fn main() {
    let mut s = String::new();
    io::stdin().read_to_string(&mut s).unwrap();
    let t: Vec<&str> = s.split_whitespace().collect();
    match t[0] {
        "add" => {
            let a: i64 = t[1].parse().unwrap();
            let b: i64 = t[2].parse().unwrap();
            println!("{}", a + b);
        }
        "loop" => {
            let mut x: u64 = 0;
            loop {
                unsafe { std::ptr::write_volatile(&mut x, x.wrapping_add(1)) };
            }
        }
        "crash" => panic!("boom"),
        "fork" => {
            let mut kids = Vec::new();
            loop {
                if let Ok(c) = std::process::Command::new("/bin/sleep").arg("100").spawn() {
                    kids.push(c);
                }
            }
        }
        "net" => match std::net::TcpStream::connect(("127.0.0.1", t[1].parse::<u16>().unwrap())) {
            Ok(mut c) => {
                c.write_all(b"leak").ok();
                println!("connected");
            }
            Err(_) => println!("blocked"),
        },
        "write" => match std::fs::write(t[1], "evil") {
            Ok(_) => println!("written"),
            Err(_) => println!("blocked"),
        },
        "mem" => {
            let mut keep: Vec<Vec<u8>> = Vec::new();
            loop {
                keep.push(vec![1u8; 64 << 20]);
            }
        }
        _ => std::process::exit(2),
    }
}
