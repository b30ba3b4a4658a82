"""``.. mts-example::``: run the Python code given as content, which must define
``data`` (Labels, TensorBlock or TensorMap), and show the bytes that
``metatensor.io.save_buffer(data)`` writes: a hexadecimal dump for Labels, the
list of ZIP members (with their offsets and sizes) for blocks and maps. The
worked examples of the format reference are thereby always those of the
installed metatensor-core."""

import io
import zipfile

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def hexdump(data):
    """lines of 16 bytes: offset, hexadecimal bytes, printable characters"""
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        hexa = " ".join(f"{byte:02x}" for byte in chunk)
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{start:08x}  {hexa:<47}  {text}")
    return "\n".join(lines)


def zip_members(data):
    """one line per member: local header offset, stored size, name"""
    lines = [f"{'offset':>8}  {'size':>6}  {'method':<8} name"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            method = (
                "stored" if member.compress_type == zipfile.ZIP_STORED else "deflate"
            )
            lines.append(
                f"{member.header_offset:8d}  {member.file_size:6d}  {method:<8} "
                f"{member.filename}"
            )
    lines.append(f"total: {len(data)} bytes")
    return "\n".join(lines)


class MtsExample(SphinxDirective):
    has_content = True

    def run(self):
        import metatensor

        code = "\n".join(self.content)
        namespace = {}
        exec(compile(code, self.get_source_info()[0], "exec"), namespace)
        data = bytes(metatensor.io.save_buffer(namespace["data"]))
        shown = hexdump(data) if data.startswith(b"\x93NUMPY") else zip_members(data)

        source = nodes.literal_block(code, code, language="python")
        output = nodes.literal_block(shown, shown, language="text")
        return [source, output]


def setup(app):
    app.add_directive("mts-example", MtsExample)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
