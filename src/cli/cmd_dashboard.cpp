// `keep-gpu dashboard`: prints the dashboard's URL with the access token (the Jupyter way: the
// browser trades it for a cookie at once), starting the per-user service first when needed.
// With --open it also opens a browser, through a 0600 file in the runtime directory that
// redirects to the URL, so the token never appears on a command line that `ps` shows to other
// users of the node.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/service_common.hpp"
#include "cli/service_origin.hpp"
#include "service/runtime_dir.hpp"

extern char** environ;

namespace keepgpu::cli {
namespace runtime = service::runtime;

const CommandSpec& dashboard_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "dashboard";
    s.description = "Print the dashboard URL with its token; start the service if needed.";
    OptionSpec open =
        flag_option({"--open"}, "open", "Also open it in a browser ($BROWSER, else xdg-open).");
    s.options = {open, host_option(), port_option()};
    for (auto& option : auto_start_options())
      s.options.push_back(std::move(option));
    return s;
  }();
  return spec;
}

namespace {

std::string html_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A page that sends the browser on to `url`; only our user can read it.
std::filesystem::path write_open_file(const runtime::Paths& paths, const std::string& url) {
  auto file = paths.dir / "dashboard-open.html";
  ::unlink(file.c_str());
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + file.string());
  const std::string escaped = html_escape(url);
  const std::string page = fmt::format(
      "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"0;url={0}\"><title>KeepGPU</title></head>\n"
      "<body><p><a href=\"{0}\">Open the KeepGPU dashboard</a></p></body></html>\n",
      escaped);
  const bool ok = ::write(fd, page.data(), page.size()) == static_cast<ssize_t>(page.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + file.string());
  return file;
}

// $BROWSER (its first entry; "%s" is replaced by the target, as the convention has it) or
// xdg-open. Returns an error text, or an empty string when the browser was started.
std::string launch_browser(const std::string& target) {
  std::vector<std::string> argv;
  const char* env = std::getenv("BROWSER");
  std::string command = env != nullptr ? env : "";
  command = command.substr(0, command.find(':'));
  if (command.empty()) {
    argv = {"xdg-open", target};
  } else if (const auto at = command.find("%s"); at != std::string::npos) {
    argv = {"/bin/sh", "-c", command.replace(at, 2, "\"$1\""), "sh", target};
  } else {
    argv = {"/bin/sh", "-c", command + " \"$1\"", "sh", target};
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& arg : argv)
    args.push_back(arg.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The browser's chatter must not mix with the URL on stdout.
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return fmt::format("cannot run {}: {}", argv[0], std::strerror(error));
  // xdg-open returns as soon as the browser is asked; a browser run directly keeps going, and
  // is left to run once it has survived a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
      return fmt::format("{} failed (exit status {})", command.empty() ? "xdg-open" : command,
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    if (done < 0) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

int fail(const std::string& message) {
  std::cerr << "Error: " << message << std::endl;
  return 1;
}

}  // namespace

int run_dashboard(const RootArgs& root, const ParsedOptions& options) {
  HostPort where;
  ServiceTarget target;
  try {
    where = validate_host_port(options);
    target = make_target(where);
    if (ensure_service(target, auto_start_from(root, options))) {
      std::cerr << "Auto-started KeepGPU service (stop it with: keep-gpu service-stop)"
                << std::endl;
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  std::string host = where.host;
  int port = where.port;
  bool token_required = true;
  if (!where.explicit_tcp) {
    const auto endpoint = runtime::read_endpoint_record(target.paths.endpoint);
    if (!endpoint) {
      return fail(fmt::format(
          "The KeepGPU service for this user has no TCP listener (it was started with --no-tcp, "
          "or port {} was taken), so it serves no dashboard. Stop it with `keep-gpu "
          "service-stop`, then run `keep-gpu dashboard --port <free port>`.",
          where.port));
    }
    host = endpoint->host;
    port = endpoint->port;
    token_required = endpoint->token;
  }

  std::string url = fmt::format("http://{}:{}/", browser_host(host), port);
  if (token_required) {
    // A login URL hands the token to whoever listens there, as a request would.
    try {
      service::client::Endpoint listener;
      listener.host = host;  // a wildcard counts as the loopback it connects to
      listener.port = port;
      service::client::require_own_listener(listener);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    const auto token = where.explicit_tcp ? target.endpoint.token : runtime::client_token();
    if (!token) {
      return fail("cannot read the service's token file " + target.paths.token.string());
    }
    url += "?token=" + *token;
  }
  std::cout << url << std::endl;
  std::cerr << fmt::format(
                   "Open this URL in a browser on this machine. From elsewhere, tunnel first: "
                   "ssh -L {0}:127.0.0.1:{0} <this node>, then open it locally.",
                   port)
            << std::endl;

  if (options.given("open")) {
    std::string error;
    try {
      const auto file = write_open_file(target.paths, url);
      error = launch_browser("file://" + file.string());
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      std::cerr << "Could not open a browser (" << error << "); open the URL above yourself."
                << std::endl;
      return 1;
    }
  }
  return 0;
}

}  // namespace keepgpu::cli
