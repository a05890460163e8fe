"""Rewrite the upstream ISNet ONNX graph into the form the cut-out engine runs.

The upstream graph has three properties that cost us on CPU:

- It stores fp16 weights and casts around every op. onnxruntime's CPU provider has no fp16
  kernels for most of these ops, so it inserts casts at run time; plain fp32 is faster and
  numerically the same (fp16 -> fp32 is exact).
- Its input is fixed at 1024x1024 and every upsampling `Resize` has its target size frozen as
  a constant by the PyTorch tracer. Making those targets follow the tensor they are
  concatenated with (as the PyTorch code does) lets the graph run at any multiple of 32.
- It exports six side outputs; only `output` is used, and the extra outputs keep their
  buffers alive.

Needs the `onnx` package (setup time only; the engine itself only needs onnxruntime).
"""

from __future__ import annotations

from pathlib import Path

FINAL_OUTPUT = "output"


def rewrite_isnet(source: Path, destination: Path) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph

    for initializer in graph.initializer:
        if initializer.data_type == TensorProto.FLOAT16:
            as_fp32 = numpy_helper.to_array(initializer).astype(np.float32)
            initializer.CopyFrom(numpy_helper.from_array(as_fp32, initializer.name))
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].t.data_type == TensorProto.FLOAT16:
            tensor = node.attribute[0].t
            node.attribute[0].t.CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float32), tensor.name)
            )

    # With everything in fp32 the float casts are identities: bypass them.
    float_types = {TensorProto.FLOAT, TensorProto.FLOAT16}
    bypass: dict[str, str] = {}
    nodes = []
    for node in graph.node:
        if node.op_type == "Cast" and node.attribute[0].i in float_types:
            bypass[node.output[0]] = node.input[0]
        else:
            nodes.append(node)

    def resolve(name: str) -> str:
        while name in bypass:
            name = bypass[name]
        return name

    final_source = resolve(FINAL_OUTPUT)
    for node in nodes:
        for index, name in enumerate(node.input):
            resolved = resolve(name)
            node.input[index] = FINAL_OUTPUT if resolved == final_source else resolved
        for index, name in enumerate(node.output):
            if name == final_source:
                node.output[index] = FINAL_OUTPUT

    producer = {out: node for node in nodes for out in node.output}
    consumers: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    input_name = graph.input[0].name
    for node in list(nodes):
        if node.op_type != "Resize":
            continue
        sizes = producer[node.input[3]]
        frozen = producer.get(sizes.input[1])
        if sizes.op_type != "Concat" or frozen is None or frozen.op_type != "Constant":
            raise ValueError(f"unexpected Resize pattern at {node.name}")
        users = consumers.get(node.output[0], [])
        if len(users) != 1:
            raise ValueError(f"unexpected Resize fan-out at {node.name}")
        user = users[0]
        # Decoder upsampling is concatenated with a skip tensor: match its size. Side outputs
        # are upsampled to the input image size.
        if user.op_type == "Concat":
            target = next(name for name in user.input if name != node.output[0])
        else:
            target = input_name
        target_hw = f"{node.name}/dynamic_target_hw"
        nodes.append(helper.make_node("Shape", [target], [target_hw], start=2, end=4))
        sizes.input[1] = target_hw

    live_nodes = _live_subgraph(nodes, FINAL_OUTPUT)
    ordered = _topological_order(
        live_nodes, {i.name for i in graph.input} | {i.name for i in graph.initializer}
    )
    del graph.node[:]
    graph.node.extend(ordered)

    used = {name for node in ordered for name in node.input}
    live_initializers = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live_initializers)

    final = [out for out in graph.output if out.name == FINAL_OUTPUT]
    del graph.output[:]
    graph.output.extend(final)
    for value in list(graph.input) + list(graph.output):
        value.type.tensor_type.elem_type = TensorProto.FLOAT
        dims = value.type.tensor_type.shape.dim
        for axis, symbol in ((2, "height"), (3, "width")):
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = symbol
    # Stale shape annotations would pin the 1024 sizes again.
    del graph.value_info[:]

    onnx.checker.check_model(model)
    destination.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(destination))


def _live_subgraph(nodes: list, output: str) -> list:
    producer = {out: node for node in nodes for out in node.output}
    live: set[int] = set()
    pending = [output]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        node = producer.get(name)
        if node is not None and id(node) not in live:
            live.add(id(node))
            pending.extend(i for i in node.input if i)
    return [node for node in nodes if id(node) in live]


def _topological_order(nodes: list, available: set[str]) -> list:
    available = set(available) | {""}
    ordered = []
    pending = nodes
    while pending:
        blocked = []
        for node in pending:
            if all(name in available for name in node.input):
                ordered.append(node)
                available.update(node.output)
            else:
                blocked.append(node)
        if len(blocked) == len(pending):
            raise ValueError("graph has a cycle or a missing input")
        pending = blocked
    return ordered
