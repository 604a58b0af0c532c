;; The sample application's WASM module (WASI preview1): prints its greeting, then again every few
;; seconds, forever. The greeting is the environment variable GREETING (default "Hello from the edge"),
;; the period INTERVAL_SECONDS (a positive whole number, default 5): the app's parameters `greeting` and
;; `intervalSeconds` target them (margo.yaml). hello.wasm beside this file is this source compiled with
;; wabt by the build (scripts/build.mjs), kept in the repository so the walkthrough needs no build;
;; test/integration/sample-app.test.ts checks that the two match and that the module greets.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 0..15: two iovecs; 16, 20: environment count and size; 24: bytes written
  ;; 64..111: a clock subscription; 128..159: its event
  (data (i32.const 1024) "Hello from the edge")
  (data (i32.const 1056) "GREETING=")
  (data (i32.const 1072) "INTERVAL_SECONDS=")
  (data (i32.const 1096) "\n")
  ;; 4096..8191: pointers to the environment strings; 8192..: the strings

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $n))

  ;; 1 when the string at $s starts with the $len bytes at $prefix
  (func $starts_with (param $s i32) (param $prefix i32) (param $len i32) (result i32)
    (local $i i32)
    (block $no
      (loop $l
        (if (i32.ge_u (local.get $i) (local.get $len)) (then (return (i32.const 1))))
        (br_if $no
          (i32.ne
            (i32.load8_u (i32.add (local.get $s) (local.get $i)))
            (i32.load8_u (i32.add (local.get $prefix) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  ;; the decimal number at $p (digits only, at most 6 of them), or 0
  (func $number (param $p i32) (result i32)
    (local $n i32) (local $c i32) (local $digits i32)
    (block $done
      (loop $l
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $digits))))
        (br_if $done (i32.eqz (local.get $c)))
        (if (i32.or (i32.lt_u (local.get $c) (i32.const 48)) (i32.gt_u (local.get $c) (i32.const 57)))
          (then (return (i32.const 0))))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (if (i32.gt_u (local.get $digits) (i32.const 6)) (then (return (i32.const 0))))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
        (br $l)))
    (local.get $n))

  (func (export "_start")
    (local $greeting i32) (local $length i32) (local $interval i32)
    (local $i i32) (local $count i32) (local $s i32) (local $n i32)
    (local.set $greeting (i32.const 1024))
    (local.set $length (i32.const 19))
    (local.set $interval (i32.const 5))
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (if (i32.le_u (i32.load (i32.const 20)) (i32.const 57344))
      (then
        (drop (call $environ_get (i32.const 4096) (i32.const 8192)))
        (local.set $count (i32.load (i32.const 16)))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (br_if $done (i32.ge_u (local.get $i) (i32.const 1024)))
        (local.set $s (i32.load (i32.add (i32.const 4096) (i32.mul (local.get $i) (i32.const 4)))))
        (if (call $starts_with (local.get $s) (i32.const 1056) (i32.const 9))
          (then
            (local.set $greeting (i32.add (local.get $s) (i32.const 9)))
            (local.set $length (call $strlen (local.get $greeting)))))
        (if (call $starts_with (local.get $s) (i32.const 1072) (i32.const 17))
          (then
            (local.set $n (call $number (i32.add (local.get $s) (i32.const 17))))
            (if (i32.gt_u (local.get $n) (i32.const 0)) (then (local.set $interval (local.get $n))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    ;; the line: the greeting and a newline, as two iovecs
    (i32.store (i32.const 0) (local.get $greeting))
    (i32.store (i32.const 4) (local.get $length))
    (i32.store (i32.const 8) (i32.const 1096))
    (i32.store (i32.const 12) (i32.const 1))
    ;; the subscription: clock id at 80 (1 = monotonic), timeout at 88 (ns), relative
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.mul (i64.extend_i32_u (local.get $interval)) (i64.const 1000000000)))
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 24)))
      (drop (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 32)))
      (br $forever))))
