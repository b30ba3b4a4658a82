"""Minimal ZIP archives: a writer reproducing metatensor's native writer byte for
byte, and a reader for any archive with STORED or DEFLATE members.

The reader trusts no size field: STORED members must lie inside the archive, and
DEFLATE members are inflated to exactly their declared size, which can be at most
:py:data:`MAX_DEFLATE_RATIO` times their compressed size, and all of them together
at most this many times the archive size (which stops decompression bombs).

The native writer (upstream uses the Rust ``zip`` crate) produces:

* local headers with version-needed 20, flags 0, method STORED, DOS time ``0x0000``
  and date ``0x2821`` (2000-01-01 00:00:00), the CRC32, both 32-bit sizes set to
  ``0xFFFFFFFF`` and a ZIP64 extra field ``01 00 10 00`` + u64 uncompressed size +
  u64 compressed size;
* central directory entries made by ``0x032E`` (Unix, zip 4.6) with the real 32-bit
  sizes, no extra field, no comment and external attributes ``0x81A40000`` (regular
  file, mode 0644);
* a plain end of central directory record without comment.

When a size or an offset does not fit in 32 bits, the central entries carry a ZIP64
extra field and a ZIP64 end of central directory record and locator are written, as
the ZIP specification requires (:py:data:`ZIP64_LIMIT` and
:py:data:`ZIP64_COUNT_LIMIT` can be lowered to test this).
"""

import struct
import zlib

from ._npy import format_error

#: sizes and offsets at or above this value are stored in ZIP64 extra fields
ZIP64_LIMIT = 0xFFFFFFFF
#: archives with at least this many members get a ZIP64 end of central directory
ZIP64_COUNT_LIMIT = 0xFFFF

_LOCAL_SIGNATURE = 0x04034B50
_CENTRAL_SIGNATURE = 0x02014B50
_EOCD_SIGNATURE = 0x06054B50
_ZIP64_EOCD_SIGNATURE = 0x06064B50
_ZIP64_LOCATOR_SIGNATURE = 0x07064B50

_DOS_TIME = 0x0000
_DOS_DATE = 0x2821
_MADE_BY = 0x032E
_VERSION = 20
_VERSION_ZIP64 = 45
_EXTERNAL_ATTRIBUTES = 0x81A40000
_UTF8_FLAG = 0x0800

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_ZIP64_EXTRA = struct.Struct("<HHQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_ZIP64_EOCD = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<IIQI")

# members up to this size are read at once and checked before being parsed
_SMALL_MEMBER = 1 << 16

#: DEFLATE produces at most 258 bytes for 2 bits of input (one length and one
#: distance code), so a member can not inflate to more than this many times its
#: compressed size, and the members of an archive whose data do not overlap to more
#: than this many times the archive size
MAX_DEFLATE_RATIO = 1032


def _encode_name(name: str):
    """Encoded member name and general purpose flags (bit 11 for UTF-8 names)"""
    if name.isascii():
        return name.encode("ascii"), 0
    return name.encode("utf8"), _UTF8_FLAG


# ================================================================================== #
#                                      writing                                       #
# ================================================================================== #


class ZipWriter:
    """Writes a STORED archive through ``write``, a function taking a bytes-like
    object (``file.write``, ``list.append``, ...).

    Members are written as soon as they are added; :py:meth:`finish` writes the
    central directory. Nothing is copied: each chunk is handed to ``write``.
    """

    def __init__(self, write):
        self._write = write
        self._offset = 0
        # (encoded name, flags, crc, size, offset of the local header)
        self._entries = []

    def _emit(self, data):
        self._write(data)
        self._offset += len(data)

    def add(self, name: str, chunks):
        """Add a member whose content is the concatenation of ``chunks``, each a
        bytes-like object of unsigned bytes (``memoryview(...).cast("B")``)."""
        encoded, flags = _encode_name(name)
        crc = 0
        size = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)

        offset = self._offset
        self._emit(
            _LOCAL.pack(
                _LOCAL_SIGNATURE,
                _VERSION,
                flags,
                0,  # STORED
                _DOS_TIME,
                _DOS_DATE,
                crc,
                0xFFFFFFFF,
                0xFFFFFFFF,
                len(encoded),
                _LOCAL_ZIP64_EXTRA.size,
            )
            + encoded
            + _LOCAL_ZIP64_EXTRA.pack(0x0001, 16, size, size)
        )
        for chunk in chunks:
            if len(chunk) != 0:
                self._emit(chunk)
        self._entries.append((encoded, flags, crc, size, offset))

    def finish(self):
        """Write the central directory and the end records"""
        directory_offset = self._offset
        central = []
        for encoded, flags, crc, size, offset in self._entries:
            extra = []
            if size >= ZIP64_LIMIT:
                extra += [size, size]
            if offset >= ZIP64_LIMIT:
                extra.append(offset)
            marked_size = 0xFFFFFFFF if size >= ZIP64_LIMIT else size
            extra_field = b""
            if extra:
                extra_field = struct.pack(
                    f"<HH{len(extra)}Q", 1, 8 * len(extra), *extra
                )
            central.append(
                _CENTRAL.pack(
                    _CENTRAL_SIGNATURE,
                    _MADE_BY,
                    _VERSION_ZIP64 if extra else _VERSION,
                    flags,
                    0,
                    _DOS_TIME,
                    _DOS_DATE,
                    crc,
                    marked_size,
                    marked_size,
                    len(encoded),
                    len(extra_field),
                    0,  # comment length
                    0,  # disk number
                    0,  # internal attributes
                    _EXTERNAL_ATTRIBUTES,
                    0xFFFFFFFF if offset >= ZIP64_LIMIT else offset,
                )
                + encoded
                + extra_field
            )
        directory = b"".join(central)
        self._emit(directory)

        count = len(self._entries)
        directory_size = len(directory)
        large_count = count >= ZIP64_COUNT_LIMIT
        large_size = directory_size >= ZIP64_LIMIT
        large_offset = directory_offset >= ZIP64_LIMIT
        if large_count or large_size or large_offset:
            zip64_offset = self._offset
            self._emit(
                _ZIP64_EOCD.pack(
                    _ZIP64_EOCD_SIGNATURE,
                    _ZIP64_EOCD.size - 12,
                    _MADE_BY,
                    _VERSION_ZIP64,
                    0,
                    0,
                    count,
                    count,
                    directory_size,
                    directory_offset,
                )
                + _ZIP64_LOCATOR.pack(_ZIP64_LOCATOR_SIGNATURE, 0, zip64_offset, 1)
            )

        self._emit(
            _EOCD.pack(
                _EOCD_SIGNATURE,
                0,
                0,
                0xFFFF if large_count else count,
                0xFFFF if large_count else count,
                0xFFFFFFFF if large_size else directory_size,
                0xFFFFFFFF if large_offset else directory_offset,
                0,
            )
        )


# ================================================================================== #
#                                      reading                                       #
# ================================================================================== #


class BufferSource:
    """Random access to an in-memory archive (a bytes-like object or an mmap)"""

    def __init__(self, buffer, views: bool = False):
        self._buffer = memoryview(buffer).cast("B")
        self.size = len(self._buffer)
        # whether ``view_at`` may return views into the buffer
        self._views = views

    def read_at(self, offset: int, size: int):
        return self._buffer[offset : offset + size]

    def readinto_at(self, offset: int, output: memoryview) -> int:
        data = self._buffer[offset : offset + len(output)]
        output[: len(data)] = data
        return len(data)

    def view_at(self, offset: int, size: int):
        return self._buffer[offset : offset + size] if self._views else None


class FileSource:
    """Random access to an archive in a seekable binary file"""

    def __init__(self, file):
        self._file = file
        self.size = file.seek(0, 2)

    def read_at(self, offset: int, size: int):
        self._file.seek(offset)
        return self._file.read(size)

    def readinto_at(self, offset: int, output: memoryview) -> int:
        self._file.seek(offset)
        done = 0
        while done < len(output):
            count = self._file.readinto(output[done:])
            if not count:
                break
            done += count
        return done

    def view_at(self, offset: int, size: int):
        return None


class _Entry:
    __slots__ = ("name", "flags", "method", "crc", "compressed_size", "size", "offset")


def check_inflation(name: str, size: int, compressed_size: int):
    """Refuse a DEFLATE member declaring more inflated bytes than its compressed
    data can produce"""
    if size > MAX_DEFLATE_RATIO * compressed_size:
        raise format_error(
            f"'{name}' declares {size} bytes once inflated from {compressed_size} "
            f"compressed bytes, more than DEFLATE can produce: the archive is "
            "corrupted (or a decompression bomb)"
        )


class InflationBudget:
    """Total size of the DEFLATE members inflated from one archive, at most
    :py:data:`MAX_DEFLATE_RATIO` times the archive size (more means that the data
    of several members overlap, as in decompression bombs)"""

    def __init__(self, archive_size: int):
        self._left = MAX_DEFLATE_RATIO * archive_size

    def take(self, name: str, size: int):
        if size > self._left:
            raise format_error(
                f"inflating '{name}' would make the compressed members of this "
                f"archive larger than {MAX_DEFLATE_RATIO} times the archive size, "
                "which non-overlapping members can not do: the archive is corrupted "
                "(or a decompression bomb)"
            )
        self._left -= size


def _inflate(source, entry: _Entry, start: int, budget: InflationBudget) -> bytes:
    """The inflated data of a DEFLATE member, never more than its declared size
    (plus one byte, to detect longer data)"""
    check_inflation(entry.name, entry.size, entry.compressed_size)
    budget.take(entry.name, entry.size)
    compressed = source.read_at(start, entry.compressed_size)
    decompressor = zlib.decompressobj(-15)
    try:
        # a limit of 0 would mean "no limit" to zlib
        data = decompressor.decompress(compressed, entry.size + 1)
    except zlib.error as e:
        raise format_error(
            f"invalid compressed data for '{entry.name}' in archive: {e}"
        ) from e
    if len(data) != entry.size or not decompressor.eof:
        raise format_error(
            f"invalid compressed data for '{entry.name}' in archive: it does not "
            f"inflate to the {entry.size} bytes declared in the central directory"
        )
    return data


class MemberReader:
    """Sequential reads of one member, checking its CRC32 when it was fully read.

    Small and compressed members are read (and checked) at once; large STORED
    members are streamed into the caller's memory with ``readinto``. DEFLATE
    members are inflated to their declared size within ``budget``.
    """

    def __init__(
        self,
        source,
        entry: _Entry,
        start: int,
        verify: bool,
        budget: InflationBudget,
    ):
        self.name = entry.name
        self._size = entry.size
        self._expected_crc = entry.crc
        self._verify = verify
        self._position = 0
        self._crc = 0

        if entry.method == 8:
            data = _inflate(source, entry, start, budget)
            self._source = BufferSource(data)
            self._start = 0
            self._check_all(data)
        elif entry.method == 0 and entry.size <= _SMALL_MEMBER and verify:
            data = source.read_at(start, entry.size)
            self._source = BufferSource(data)
            self._start = 0
            self._check_all(data)
        else:
            self._source = source
            self._start = start

    def _check_all(self, data):
        if self._verify and zlib.crc32(data) != self._expected_crc:
            raise format_error(f"invalid checksum for '{self.name}' in archive")
        self._verify = False

    def remaining(self) -> int:
        return self._size - self._position

    def read(self, size: int):
        size = min(size, self.remaining())
        data = self._source.read_at(self._start + self._position, size)
        self._advance(data)
        return data

    def readinto(self, output: memoryview):
        """Fill ``output`` (a memoryview of unsigned bytes) with the next bytes"""
        if len(output) > self.remaining():
            raise format_error(f"unexpected end of data in '{self.name}'")
        count = self._source.readinto_at(self._start + self._position, output)
        if count != len(output):
            raise format_error(f"unexpected end of archive in '{self.name}'")
        self._advance(output)

    def view(self, size: int):
        """A view of the next ``size`` bytes without copy, or None if the source
        can not provide one; the checksum of a viewed member is not checked."""
        view = self._source.view_at(self._start + self._position, size)
        if view is not None and len(view) == size:
            self._verify = False
            self._position += size
            return view
        return None

    def _advance(self, data):
        if len(data) != 0 and self._verify:
            self._crc = zlib.crc32(data, self._crc)
        self._position += len(data)

    def finish(self):
        """Check the CRC32 of the member (reading what is left of it)"""
        if not self._verify:
            return
        while self.remaining() > 0:
            self.read(min(self.remaining(), 1 << 20))
        if self._crc != self._expected_crc:
            raise format_error(f"invalid checksum for '{self.name}' in archive")


def _zip64_values(extra, entry: _Entry, offset: int):
    """Replace the 32-bit fields marked 0xFFFFFFFF with the ZIP64 extra values"""
    position = 0
    while position + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, position)
        position += 4
        if header_id == 0x0001:
            data = extra[position : position + size]
            values = [
                struct.unpack_from("<Q", data, 8 * i)[0] for i in range(len(data) // 8)
            ]
            if entry.size == 0xFFFFFFFF and values:
                entry.size = values.pop(0)
            if entry.compressed_size == 0xFFFFFFFF and values:
                entry.compressed_size = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        position += size
    return offset


class ZipReader:
    """Reads the central directory of an archive from a source
    (:py:class:`BufferSource` or :py:class:`FileSource`)"""

    def __init__(self, source, verify: bool = True):
        self._source = source
        self._verify = verify
        self._entries = {}
        self._budget = InflationBudget(source.size)
        self._read_directory()

    def _find_end_record(self):
        size = self._source.size
        tail_start = max(0, size - _EOCD.size - 0xFFFF)
        tail = bytes(self._source.read_at(tail_start, size - tail_start))
        position = len(tail)
        while True:
            position = tail.rfind(b"PK\x05\x06", 0, position)
            if position < 0:
                raise format_error(
                    "could not find the end of the central directory, "
                    "this is not a zip archive (or it is truncated)"
                )
            if position + _EOCD.size <= len(tail):
                comment_length = struct.unpack_from("<H", tail, position + 20)[0]
                if position + _EOCD.size + comment_length <= len(tail):
                    return tail_start + position, _EOCD.unpack_from(tail, position)

    def _read_directory(self):
        eocd_offset, record = self._find_end_record()
        _, disk, _, _, count, directory_size, directory_offset, _ = record
        directory_end = eocd_offset

        locator_offset = eocd_offset - _ZIP64_LOCATOR.size
        if locator_offset >= 0:
            locator = bytes(self._source.read_at(locator_offset, _ZIP64_LOCATOR.size))
            if locator[:4] == b"PK\x06\x07":
                _, _, zip64_offset, _ = _ZIP64_LOCATOR.unpack(locator)
                zip64 = bytes(self._source.read_at(zip64_offset, _ZIP64_EOCD.size))
                if len(zip64) != _ZIP64_EOCD.size or zip64[:4] != b"PK\x06\x06":
                    raise format_error("invalid ZIP64 end of central directory")
                fields = _ZIP64_EOCD.unpack(zip64)
                disk = fields[4]
                count, directory_size, directory_offset = fields[7:10]
                directory_end = zip64_offset

        if disk != 0:
            raise format_error("multi-disk zip archives are not supported")
        if directory_offset + directory_size > directory_end:
            raise format_error(
                "invalid central directory: it extends beyond the end of the archive"
            )

        directory = bytes(self._source.read_at(directory_offset, directory_size))
        position = 0
        for _ in range(count):
            if position + _CENTRAL.size > len(directory):
                raise format_error("invalid central directory: it is truncated")
            fields = _CENTRAL.unpack_from(directory, position)
            if fields[0] != _CENTRAL_SIGNATURE:
                raise format_error("invalid central directory entry signature")
            name_length, extra_length, comment_length = fields[10:13]
            start = position + _CENTRAL.size
            end = start + name_length + extra_length + comment_length
            if end > len(directory):
                raise format_error("invalid central directory: it is truncated")
            raw_name = directory[start : start + name_length]
            extra = directory[start + name_length : start + name_length + extra_length]
            position = end

            entry = _Entry()
            entry.flags = fields[3]
            entry.method = fields[4]
            entry.crc = fields[7]
            entry.compressed_size = fields[8]
            entry.size = fields[9]
            entry.offset = _zip64_values(extra, entry, fields[16])
            if entry.flags & _UTF8_FLAG or raw_name.isascii():
                try:
                    entry.name = raw_name.decode("utf8")
                except UnicodeDecodeError:
                    raise format_error("invalid UTF-8 member name in archive") from None
            else:
                entry.name = raw_name.decode("cp437")
            self._entries[entry.name] = entry

        self._data_end = directory_offset

    def names(self):
        """Names of all members, in archive order"""
        return list(self._entries.keys())

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def open(self, name: str) -> MemberReader:
        """Start reading the member called ``name``"""
        entry = self._entries.get(name)
        if entry is None:
            raise format_error(f"specified file not found in archive: at '{name}'")
        if entry.flags & 0x0001:
            raise format_error(f"encrypted member '{name}' is not supported")
        if entry.method not in (0, 8):
            raise format_error(
                f"unsupported compression method {entry.method} for '{name}'"
            )
        if entry.method == 0 and entry.compressed_size != entry.size:
            raise format_error(f"invalid sizes for stored member '{name}'")

        local = bytes(self._source.read_at(entry.offset, _LOCAL.size))
        if len(local) != _LOCAL.size or local[:4] != b"PK\x03\x04":
            raise format_error(f"invalid local header for '{name}' in archive")
        name_length, extra_length = struct.unpack_from("<HH", local, 26)
        start = entry.offset + _LOCAL.size + name_length + extra_length
        if start + entry.compressed_size > self._data_end:
            raise format_error(
                f"invalid archive: the data of '{name}' extends beyond its end"
            )
        return MemberReader(self._source, entry, start, self._verify, self._budget)

    def read(self, name: str) -> bytes:
        """The full (checked) content of member ``name``"""
        member = self.open(name)
        data = bytes(member.read(member.remaining()))
        member.finish()
        return data


def whole_source(source) -> MemberReader:
    """Sequential reads over a whole source (a bare NPY file), without checksum"""
    entry = _Entry()
    entry.name = "<file>"
    entry.flags = 0
    entry.method = 0
    entry.crc = 0
    entry.size = entry.compressed_size = source.size
    entry.offset = 0
    return MemberReader(source, entry, 0, False, InflationBudget(source.size))
