// What the listeners, connections and request threads of one Server share. Request threads hold
// it by shared_ptr so it (and the io_context inside) outlives a call that is still running when
// stop() stops waiting; connections hold a plain reference because they only ever run inside
// the io_context or such a thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

#include "service/http/connection_budget.hpp"
#include "service/http/handler.hpp"
#include "service/http/heap_trim.hpp"
#include "service/http/server.hpp"

namespace keepgpu::service::http {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(Api& api, ServerOptions options, std::shared_ptr<const jsonrpc::Dispatcher> rpc);

  const ServerOptions options;
  const RequestHandler handler;
  ConnectionBudget tcp_budget;
  ConnectionBudget unix_budget;
  std::atomic<std::size_t> connections{0};  // open connections with a place, both listeners

  // Api calls in flight. begin_call() refuses new ones once stopping.
  bool begin_call();
  void end_call();
  // Refuses new calls, then waits up to `grace` for running ones; true when none is left.
  bool stop_calls(std::chrono::milliseconds grace);

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t calls_ = 0;
  bool stopping_ = false;

 public:
  // Declared last (with the trimmer that lives on it): destroyed first, while the members above
  // are still there for the connections its pending handlers own.
  boost::asio::io_context io;
  HeapTrimmer trimmer{io, options.heap_trim_period};
};

}  // namespace keepgpu::service::http
