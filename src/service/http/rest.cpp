#include "service/http/rest.hpp"

#include "service/http/body.hpp"

namespace keepgpu::service::http {
namespace {

// The one place where an Api error becomes an HTTP answer: bad input is 400 (the create path
// prefixes "Bad request: ", as upstream does; the path forms do not), an unavailable GPU session
// or listing is 503 and anything else 500, both with the error's type in the body.
Reply api_error_reply(const ApiError& error, std::string_view bad_request_prefix) {
  switch (error.code()) {
    case kInvalidParams:
      return error_reply(400, std::string(bad_request_prefix) + error.what());
    case kStartupUnavailable:
      return typed_error_reply(503, error.what(), error.type());
    default:
      return typed_error_reply(500, error.what(), error.type());
  }
}

template <typename Call>
Reply answer(Call&& call, std::string_view bad_request_prefix = {}) {
  try {
    return json_reply(200, call());
  } catch (const ApiError& error) {
    return api_error_reply(error, bad_request_prefix);
  } catch (const std::exception& error) {
    return typed_error_reply(500, error.what(), "RuntimeError");
  }
}

core::Json job_params(const std::optional<std::string>& job_id) {
  core::Json params = core::Json::object();
  if (job_id) params["job_id"] = *job_id;
  return params;
}

constexpr std::string_view kBadRequest = "Bad request: ";

}  // namespace

Reply rest_list_gpus(Api& api) {
  return answer([&] { return api.list_gpus(core::Json::object()); });
}

Reply rest_status(Api& api, const std::optional<std::string>& job_id) {
  return answer([&] { return api.status(job_params(job_id)); });
}

Reply rest_stop(Api& api, const std::optional<std::string>& job_id) {
  return answer([&] { return api.stop_keep(job_params(job_id)); });
}

Reply rest_create(Api& api, std::string_view body) {
  core::Json request;
  try {
    request = decode_json_body(body);
  } catch (const BodyError& error) {
    return error_reply(400, std::string(kBadRequest) + error.what());
  }
  return answer([&] { return api.create_session(request); }, kBadRequest);
}

}  // namespace keepgpu::service::http
