// actops.lib._fast_call: the Python package's direct entry to the ops.
//
// Calling an OpOverload (torch.ops.actops.mish.default(x)) costs a Python
// frame (OpOverload.__call__) and a generic, schema-driven conversion of
// every argument before the dispatcher is reached: about 1.2 us per call,
// the kernel time of a 4096-element activation. bind(overload) returns a
// builtin function that calls the same operator through the dispatcher
// (autograd, vmap, tracing, fake tensors, autocast: every dispatch key works
// as it does for the OpOverload), with the conversions the op's schema
// needs decided once: tensors (torch.Tensor or Parameter), floats, ints,
// bools, strings and their optionals, positional or by keyword, defaults
// from the schema. Anything else (a tensor subclass, a mode with
// __torch_function__, an int where the schema says float, an unknown
// keyword, too many arguments) is handed to the OpOverload itself, so that
// conversions, overrides and error messages stay torch's.
//
// The module links libtorch_python; libactops, which C++ programs use, does
// not.
#include <ATen/PythonTorchFunctionTLS.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <Python.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>

#include <memory>
#include <string>
#include <vector>

namespace {

enum class Kind { Tensor, Float, Int, Bool, String, Unsupported };

struct Parameter {
  Kind kind = Kind::Unsupported;
  bool optional = false;     // None accepted
  PyObject* name = nullptr;  // interned
  std::optional<c10::IValue> default_value;
};

Parameter parameter_of(const c10::Argument& argument) {
  Parameter p;
  c10::TypePtr type = argument.type();
  if (type->kind() == c10::TypeKind::OptionalType) {
    p.optional = true;
    type = type->castRaw<c10::OptionalType>()->getElementType();
  }
  switch (type->kind()) {
    case c10::TypeKind::TensorType:
      p.kind = Kind::Tensor;
      break;
    case c10::TypeKind::FloatType:
      p.kind = Kind::Float;
      break;
    case c10::TypeKind::IntType:
      p.kind = Kind::Int;
      break;
    case c10::TypeKind::BoolType:
      p.kind = Kind::Bool;
      break;
    case c10::TypeKind::StringType:
      p.kind = Kind::String;
      break;
    default:
      p.kind = Kind::Unsupported;
  }
  p.name = PyUnicode_InternFromString(argument.name().c_str());
  p.default_value = argument.default_value();
  return p;
}

struct Binding {
  c10::OperatorHandle op;
  PyObject* fallback;  // the OpOverload (owned)
  std::vector<Parameter> parameters;
  size_t positional = 0;  // parameters that may be passed positionally
  size_t returns = 0;
  std::string name;
  PyMethodDef def{};
  std::string error_name;  // "actops.mish": the op, as the kernels' messages name it
};

// Whether `value` converts as the parameter says; appends it to the stack.
bool convert(const Parameter& p, PyObject* value, torch::jit::Stack& stack) {
  if (value == Py_None) {
    if (!p.optional) {
      return false;
    }
    stack.emplace_back();
    return true;
  }
  switch (p.kind) {
    case Kind::Tensor:
      // torch.Tensor or Parameter: a subclass may override __torch_function__
      if (!THPVariable_CheckExact(value)) {
        return false;
      }
      stack.emplace_back(THPVariable_Unpack(value));
      return true;
    case Kind::Float:
      if (!PyFloat_CheckExact(value)) {
        return false;
      }
      stack.emplace_back(PyFloat_AS_DOUBLE(value));
      return true;
    case Kind::Int: {
      if (!PyLong_CheckExact(value)) {
        return false;
      }
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
      if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return false;
      }
      stack.emplace_back(static_cast<int64_t>(v));
      return true;
    }
    case Kind::Bool:
      if (!PyBool_Check(value)) {
        return false;
      }
      stack.emplace_back(value == Py_True);
      return true;
    case Kind::String: {
      if (!PyUnicode_CheckExact(value)) {
        return false;
      }
      Py_ssize_t size = 0;
      const char* s = PyUnicode_AsUTF8AndSize(value, &size);
      if (s == nullptr) {
        PyErr_Clear();
        return false;
      }
      stack.emplace_back(std::string(s, static_cast<size_t>(size)));
      return true;
    }
    case Kind::Unsupported:
      return false;
  }
  return false;
}

// An argument that no conversion will take, for an error that says so
// (torch's own would be "There were no tensor arguments to this function"
// for a None tensor, or "Expected a value of type 'int' ... but instead
// found type 'int'" for an int beyond int64).
struct BadArgument {
  const Parameter* parameter = nullptr;
  PyObject* value = nullptr;
};

// The arguments in schema order, or false where the OpOverload must take the
// call; `bad` is then set where an argument is a None tensor or an int that
// does not fit in int64.
bool build_stack(const Binding& b, PyObject* const* args, size_t nargs, PyObject* kwnames, torch::jit::Stack& stack,
                 BadArgument& bad) {
  const size_t count = b.parameters.size();
  if (nargs > b.positional || at::impl::torch_function_mode_enabled()) {
    return false;
  }
  PyObject* given[16] = {};
  if (count > 16) {
    return false;
  }
  for (size_t i = 0; i < nargs; ++i) {
    given[i] = args[i];
  }
  if (kwnames != nullptr) {
    const Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; ++k) {
      PyObject* key = PyTuple_GET_ITEM(kwnames, k);
      size_t i = 0;
      while (i < count && b.parameters[i].name != key) {
        ++i;
      }
      if (i == count) {  // not interned the same way: compare the text
        i = 0;
        while (i < count && PyUnicode_Compare(b.parameters[i].name, key) != 0) {
          ++i;
        }
      }
      if (i == count || given[i] != nullptr) {
        return false;
      }
      given[i] = args[nargs + static_cast<size_t>(k)];
    }
  }
  stack.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const Parameter& p = b.parameters[i];
    if (given[i] == nullptr) {
      if (!p.default_value) {
        return false;
      }
      stack.push_back(*p.default_value);
    } else if (!convert(p, given[i], stack)) {
      if ((given[i] == Py_None && p.kind == Kind::Tensor) || (p.kind == Kind::Int && PyLong_CheckExact(given[i]))) {
        bad = {&p, given[i]};
      }
      return false;
    }
  }
  return true;
}

// Releases the GIL for the dispatcher call, as torch's bindings do.
struct NoGil {
  PyThreadState* state = PyEval_SaveThread();
  NoGil() = default;
  NoGil(const NoGil&) = delete;
  NoGil& operator=(const NoGil&) = delete;
  ~NoGil() { PyEval_RestoreThread(state); }
};

PyObject* call(PyObject* self, PyObject* const* args, Py_ssize_t nargsf, PyObject* kwnames) {
  HANDLE_TH_ERRORS
  const auto& b = *static_cast<const Binding*>(PyCapsule_GetPointer(self, nullptr));
  const size_t nargs = static_cast<size_t>(PyVectorcall_NARGS(nargsf));
  torch::jit::Stack stack;
  BadArgument bad;
  if (!build_stack(b, args, nargs, kwnames, stack, bad)) {
    if (bad.parameter != nullptr && bad.parameter->kind == Kind::Tensor) {
      PyErr_Format(PyExc_TypeError, "%s: %U must be a tensor, got None", b.error_name.c_str(), bad.parameter->name);
      return nullptr;
    }
    if (bad.parameter != nullptr) {
      PyErr_Format(PyExc_OverflowError, "%s: %U = %R does not fit in a 64-bit int", b.error_name.c_str(),
                   bad.parameter->name, bad.value);
      return nullptr;
    }
    return PyObject_Vectorcall(b.fallback, args, nargsf, kwnames);
  }
  {
    NoGil no_gil;
    b.op.callBoxed(stack);
  }
  if (b.returns == 1) {
    return THPVariable_Wrap(std::move(stack[0]).toTensor());
  }
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(b.returns));
  if (tuple == nullptr) {
    return nullptr;
  }
  for (size_t i = 0; i < b.returns; ++i) {
    PyObject* item = THPVariable_Wrap(std::move(stack[i]).toTensor());
    if (item == nullptr) {
      Py_DECREF(tuple);
      return nullptr;
    }
    PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(i), item);
  }
  return tuple;
  END_HANDLE_TH_ERRORS
}

void destroy(PyObject* capsule) {
  auto* b = static_cast<Binding*>(PyCapsule_GetPointer(capsule, nullptr));
  for (auto& p : b->parameters) {
    Py_XDECREF(p.name);
  }
  Py_XDECREF(b->fallback);
  delete b;
}

// obj.attr as text, or python_error (the Python exception set).
std::string attribute_text(PyObject* obj, const char* attr) {
  PyObject* value = PyObject_GetAttrString(obj, attr);
  if (value == nullptr) {
    throw python_error();
  }
  const char* text = PyUnicode_AsUTF8(value);
  if (text == nullptr) {
    Py_DECREF(value);
    throw python_error();
  }
  std::string result(text);
  Py_DECREF(value);
  return result;
}

// bind(overload): the fast function for an OpOverload, or the OpOverload
// itself where its schema has a type this module does not convert.
PyObject* bind(PyObject* /*module*/, PyObject* overload) {
  HANDLE_TH_ERRORS
  PyObject* schema = PyObject_GetAttrString(overload, "_schema");
  if (schema == nullptr) {
    return nullptr;
  }
  std::string name, overload_name;
  try {
    name = attribute_text(schema, "name");
    overload_name = attribute_text(schema, "overload_name");
  } catch (...) {
    Py_DECREF(schema);
    throw;
  }
  Py_DECREF(schema);

  auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name.c_str(), overload_name.c_str());
  const c10::FunctionSchema& fs = op.schema();
  auto b = std::make_unique<Binding>(Binding{op, nullptr, {}, 0, fs.returns().size(), name, {}});
  bool supported = !fs.is_vararg() && !fs.is_varret() && fs.arguments().size() <= 16;
  for (const auto& r : fs.returns()) {
    supported = supported && r.type()->kind() == c10::TypeKind::TensorType;
  }
  for (const auto& a : fs.arguments()) {
    b->parameters.push_back(parameter_of(a));
    supported = supported && b->parameters.back().kind != Kind::Unsupported;
    if (!a.kwarg_only()) {
      ++b->positional;
    }
  }
  if (!supported || b->returns == 0) {
    for (auto& p : b->parameters) {
      Py_XDECREF(p.name);
    }
    Py_INCREF(overload);
    return overload;
  }
  Py_INCREF(overload);
  b->fallback = overload;
  if (!overload_name.empty()) {
    b->name += "." + overload_name;
  }
  b->error_name = name;
  if (const auto colons = b->error_name.find("::"); colons != std::string::npos) {
    b->error_name.replace(colons, 2, ".");
  }
  b->def = PyMethodDef{b->name.c_str(), reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&call)),
                       METH_FASTCALL | METH_KEYWORDS, nullptr};
  PyMethodDef* def = &b->def;
  PyObject* capsule = PyCapsule_New(b.get(), nullptr, &destroy);
  if (capsule == nullptr) {
    return nullptr;
  }
  b.release();
  PyObject* function = PyCFunction_NewEx(def, capsule, nullptr);
  Py_DECREF(capsule);
  return function;
  END_HANDLE_TH_ERRORS
}

PyMethodDef methods[] = {
    {"bind", &bind, METH_O,
     "bind(overload): a builtin that calls the OpOverload's operator directly (see ops/python/fast_call.cpp)."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast_call", "Direct calls into the actops ops.", -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__fast_call() { return PyModule_Create(&module); }
