#include "service/http/server_state.hpp"

namespace keepgpu::service::http {

ServerState::ServerState(Api& api, ServerOptions options_in,
                         std::shared_ptr<const jsonrpc::Dispatcher> rpc)
    : options(std::move(options_in)),
      handler(api, rpc ? std::move(rpc) : std::make_shared<const jsonrpc::Dispatcher>(api),
              StaticFiles(options.web_assets), options.telemetry, options.max_body_bytes),
      tcp_budget(options.max_connections),
      unix_budget(options.max_unix_connections),
      io(options.threads > 0 ? options.threads : 1) {}

bool ServerState::begin_call() {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  ++calls_;
  return true;
}

void ServerState::end_call() {
  std::lock_guard lock(mutex_);
  if (--calls_ == 0) idle_.notify_all();
}

bool ServerState::stop_calls(std::chrono::milliseconds grace) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  return idle_.wait_for(lock, grace, [this] { return calls_ == 0; });
}

}  // namespace keepgpu::service::http
