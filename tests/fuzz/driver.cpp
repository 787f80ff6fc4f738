// A seeded random-mutation fuzzer for the targets in targets.hpp, meant to be built with
// -fsanitize=address,undefined (KEEPGPU_SANITIZE): it needs no libFuzzer or clang, so it runs in
// the same g++ build as the tests. No coverage feedback: it mutates the seed corpus (byte flips,
// inserts, deletions, repeats, splices and target-specific tokens) for a time or run budget.
//
//   fuzz_service http|json [--seconds S] [--runs N] [--seed N] PATH...
//
// A PATH that is a folder adds every file in it to the corpus; a PATH that is a file is run once
// as given (to reproduce a finding) and nothing is mutated. When an input crashes, it is written
// to ./fuzz-crash-<target> first, and the seed is printed at the start so a run can be repeated.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "targets.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxInput = 64 * 1024;

// The input being run, for the crash file.
std::string g_current;
std::string g_crash_path;

void save_current() {
  const int fd = ::creat(g_crash_path.c_str(), 0644);
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < g_current.size()) {
    const auto n = ::write(fd, g_current.data() + done, g_current.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  static constexpr char kNote[] = "fuzz: the crashing input was saved\n";
  (void)::write(2, kNote, sizeof kNote - 1);
}

void on_fatal_signal(int sig) {
  save_current();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

const std::vector<std::string>& tokens(std::string_view target) {
  static const std::vector<std::string> http = {"\r\n",
                                                "\r\n\r\n",
                                                ": ",
                                                "GET ",
                                                "POST ",
                                                "HEAD ",
                                                "DELETE ",
                                                " HTTP/1.1",
                                                " HTTP/1.0",
                                                "Host: ",
                                                "Origin: ",
                                                "Authorization: Bearer tok",
                                                "Cookie: keepgpu_session_8765=secret",
                                                "Content-Type: application/json",
                                                "Content-Length: ",
                                                "Transfer-Encoding: chunked",
                                                "Expect: 100-continue",
                                                "Mcp-Session-Id: ",
                                                "MCP-Protocol-Version: 2025-06-18",
                                                "http://",
                                                "//",
                                                "/rpc",
                                                "/mcp",
                                                "/api/sessions/",
                                                "/api/gpus",
                                                "/health",
                                                "?token=tok",
                                                "%2F",
                                                "%00",
                                                "%C3%A9",
                                                ";",
                                                "#",
                                                "[::1]",
                                                "127.0.0.1:8765",
                                                "localhost",
                                                "evil.example",
                                                "99999999999999999999",
                                                "-1",
                                                "\x00",
                                                "\xff"};
  static const std::vector<std::string> json = {"{",
                                                "}",
                                                "[",
                                                "]",
                                                ",",
                                                ":",
                                                "\"",
                                                "\\",
                                                "\\u",
                                                "\\ud800",
                                                "\\udc00",
                                                "\\u0000",
                                                "null",
                                                "true",
                                                "false",
                                                "NaN",
                                                "Infinity",
                                                "-0",
                                                "1e999",
                                                "1.5e-400",
                                                "99999999999999999999999",
                                                "\"id\":",
                                                "\"method\":\"ping\"",
                                                "\"jsonrpc\":\"2.0\"",
                                                "\"params\":{}",
                                                "\xc3\xa9",
                                                "\xed\xa0\x80",
                                                "\xf4\x90\x80\x80",
                                                "\xef\xbb\xbf",
                                                " ",
                                                "\t",
                                                "\n",
                                                "\x01"};
  return target == "http" ? http : json;
}

class Mutator {
 public:
  Mutator(std::uint64_t seed, const std::vector<std::string>& corpus,
          const std::vector<std::string>& dictionary)
      : rng_(seed), corpus_(corpus), dictionary_(dictionary) {}

  std::string next() {
    std::string data = corpus_[pick(corpus_.size())];
    const std::size_t rounds = 1 + pick(8);
    for (std::size_t i = 0; i < rounds; ++i)
      mutate(data);
    if (data.size() > kMaxInput) data.resize(kMaxInput);
    return data;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : rng_() % n; }

  void mutate(std::string& data) {
    const std::size_t at = pick(data.size() + 1);
    switch (pick(9)) {
      case 0:  // flip a bit
        if (!data.empty()) data[at % data.size()] ^= static_cast<char>(1U << pick(8));
        break;
      case 1:  // set a byte
        if (!data.empty()) data[at % data.size()] = static_cast<char>(pick(256));
        break;
      case 2:  // insert random bytes
        data.insert(at, std::string(1 + pick(4), static_cast<char>(pick(256))));
        break;
      case 3: {  // delete a range
        if (data.empty()) break;
        const std::size_t from = at % data.size();
        data.erase(from, 1 + pick(std::min<std::size_t>(32, data.size() - from)));
        break;
      }
      case 4: {  // repeat a range (deep nesting, long fields)
        if (data.empty()) break;
        const std::size_t from = at % data.size();
        const std::string piece = data.substr(from, 1 + pick(8));
        std::string repeated;
        for (std::size_t n = 1 + pick(200); n > 0; --n)
          repeated += piece;
        data.insert(from, repeated);
        break;
      }
      case 5:
      case 6:  // insert a token
        data.insert(at, dictionary_[pick(dictionary_.size())]);
        break;
      case 7: {  // splice in part of another seed
        const std::string& other = corpus_[pick(corpus_.size())];
        const std::size_t from = pick(other.size() + 1);
        data.insert(at, other.substr(from, pick(other.size() - from + 1)));
        break;
      }
      default:  // truncate
        data.resize(at);
        break;
    }
  }

  std::mt19937_64 rng_;
  const std::vector<std::string>& corpus_;
  const std::vector<std::string>& dictionary_;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int usage() {
  std::cerr << "usage: fuzz_service http|json [--seconds S] [--runs N] [--seed N] PATH...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string target = argv[1];
  if (target != "http" && target != "json") return usage();
  auto run = target == "http" ? keepgpu::fuzz::http_request : keepgpu::fuzz::json_text;

  double seconds = 30;
  long long runs = -1;
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<std::string> corpus{""};
  std::vector<fs::path> replay;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--seconds" || arg == "--runs" || arg == "--seed") && i + 1 < argc) {
      const char* value = argv[++i];
      if (arg == "--seconds") seconds = std::strtod(value, nullptr);
      if (arg == "--runs") runs = std::strtoll(value, nullptr, 10);
      if (arg == "--seed") seed = std::strtoull(value, nullptr, 10);
    } else if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file()) corpus.push_back(read_file(entry.path()));
      }
    } else if (fs::is_regular_file(arg)) {
      replay.emplace_back(arg);
    } else {
      std::cerr << "fuzz: no such file or folder: " << arg << "\n";
      return 2;
    }
  }

  g_crash_path = "fuzz-crash-" + target;
  std::set_terminate([] {
    save_current();
    std::abort();
  });
  for (const int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    ::signal(sig, on_fatal_signal);
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_set_death_callback(save_current);
#endif

  if (!replay.empty()) {
    for (const auto& path : replay) {
      g_current = read_file(path);
      run(g_current);
    }
    std::cout << "fuzz " << target << ": " << replay.size() << " inputs replayed, no finding\n";
    return 0;
  }

  std::cout << "fuzz " << target << ": seed " << seed << ", " << corpus.size() << " seeds"
            << std::endl;
  for (const auto& input : corpus) {
    g_current = input;
    run(g_current);
  }
  Mutator mutator(seed, corpus, tokens(target));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  long long done = 0;
  while (runs < 0 ? std::chrono::steady_clock::now() < deadline : done < runs) {
    g_current = mutator.next();
    run(g_current);
    ++done;
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "fuzz " << target << ": " << done << " runs in " << took << " s, no finding"
            << std::endl;
  return 0;
}
