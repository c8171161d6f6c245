using System.Buffers.Binary;
using System.Text;

namespace NeuralCore.Benchmarks.Comparison.NativeFix;

/// <summary>
/// Read-only view of a little-endian ELF64 file held in memory, limited to what the GNU symbol-versioning
/// sections need: section headers, string tables, version requirements (<c>.gnu.version_r</c>), version
/// definitions (<c>.gnu.version_d</c>), the dynamic symbol versions (<c>.gnu.version</c>) and relocations.
/// Every offset read from the file is checked against the file and section bounds; a malformed file gets an
/// <see cref="InvalidDataException"/> naming the field.
/// </summary>
internal sealed class ElfImage
{
    const uint ShtRela = 4, ShtRel = 9, ShtDynsym = 11;
    const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
    const int EhdrSize = 64, ShdrSize = 64, VerneedSize = 16, VernauxSize = 16, VerdefSize = 20, VerdauxSize = 8;

    /// <summary>The <c>vna_flags</c> bit that makes a missing version non-fatal for the dynamic loader.</summary>
    public const ushort VerFlagWeak = 0x2;

    readonly byte[] image;
    readonly Section[] sections;

    readonly record struct Section(uint Type, ulong Offset, ulong Size, uint Link, uint Info, ulong EntrySize);

    /// <summary>One version a shared object requires from one of its dependencies (a Vernaux entry).</summary>
    /// <param name="File">The dependency's soname, e.g. <c>libstdc++.so.6</c>.</param>
    /// <param name="Version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
    /// <param name="Index">The version index that <c>.gnu.version</c> uses for symbols bound to this version.</param>
    /// <param name="Flags">The entry's <c>vna_flags</c>.</param>
    /// <param name="FlagsOffset">File offset of <c>vna_flags</c>, for patching.</param>
    public sealed record VersionRequirement(string File, string Version, ushort Index, ushort Flags, int FlagsOffset)
    {
        /// <summary>Whether the requirement is weak (the loader accepts a dependency that lacks it).</summary>
        public bool IsWeak => (Flags & VerFlagWeak) != 0;
    }

    public ElfImage(byte[] image)
    {
        this.image = image ?? throw new ArgumentNullException(nameof(image));
        if (image.Length < EhdrSize || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file (bad magic or shorter than an ELF header).");
        if (image[4] != 2) throw new InvalidDataException($"Only ELF64 is supported (EI_CLASS is {image[4]}).");
        if (image[5] != 1) throw new InvalidDataException($"Only little-endian ELF is supported (EI_DATA is {image[5]}).");

        ulong shoff = U64(40, "e_shoff");
        ushort shentsize = U16(58, "e_shentsize");
        ushort shnum = U16(60, "e_shnum");
        if (shnum == 0) throw new InvalidDataException("The ELF file has no section headers (e_shnum is 0).");
        if (shentsize != ShdrSize) throw new InvalidDataException($"Unexpected section header size {shentsize} (e_shentsize; expected {ShdrSize}).");
        CheckRange(shoff, (ulong)shnum * ShdrSize, "section header table");

        sections = new Section[shnum];
        for (int i = 0; i < shnum; i++)
        {
            int h = checked((int)shoff + i * ShdrSize);
            var s = new Section(U32(h + 4, "sh_type"), U64(h + 24, "sh_offset"), U64(h + 32, "sh_size"),
                                U32(h + 40, "sh_link"), U32(h + 44, "sh_info"), U64(h + 56, "sh_entsize"));
            if (s.Type != 8 /* SHT_NOBITS */) CheckRange(s.Offset, s.Size, $"section {i}");
            sections[i] = s;
        }
    }

    /// <summary>All version requirements, in file order (empty when the file has no <c>.gnu.version_r</c>).</summary>
    public IReadOnlyList<VersionRequirement> VersionRequirements()
    {
        var result = new List<VersionRequirement>();
        foreach (var sec in sections.Where(s => s.Type == ShtGnuVerneed))
        {
            var strtab = LinkedSection(sec, "version requirement");
            ulong end = sec.Offset + sec.Size;
            ulong vn = sec.Offset;
            for (uint n = 0; n < sec.Info; n++)
            {
                CheckWithin(vn, VerneedSize, sec.Offset, end, "Verneed entry");
                int p = (int)vn;
                ushort count = U16(p + 2, "vn_cnt");
                string file = String(strtab, U32(p + 4, "vn_file"), "vn_file");
                ulong aux = vn + U32(p + 8, "vn_aux");
                for (ushort k = 0; k < count; k++)
                {
                    CheckWithin(aux, VernauxSize, sec.Offset, end, "Vernaux entry");
                    int a = (int)aux;
                    result.Add(new VersionRequirement(file, String(strtab, U32(a + 8, "vna_name"), "vna_name"),
                                                      U16(a + 6, "vna_other"), U16(a + 4, "vna_flags"), a + 4));
                    uint next = U32(a + 12, "vna_next");
                    if (next == 0 && k + 1 < count) throw new InvalidDataException("Vernaux chain ends before vn_cnt entries.");
                    aux += next;
                }
                uint vnNext = U32(p + 12, "vn_next");
                if (vnNext == 0) break;
                vn += vnNext;
            }
        }
        return result;
    }

    /// <summary>The names of all versions the file defines (<c>.gnu.version_d</c>), e.g. <c>GLIBCXX_3.4.30</c>.</summary>
    public IReadOnlySet<string> VersionDefinitions()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sec in sections.Where(s => s.Type == ShtGnuVerdef))
        {
            var strtab = LinkedSection(sec, "version definition");
            ulong end = sec.Offset + sec.Size;
            ulong vd = sec.Offset;
            for (uint n = 0; n < sec.Info; n++)
            {
                CheckWithin(vd, VerdefSize, sec.Offset, end, "Verdef entry");
                int p = (int)vd;
                if (U16(p + 6, "vd_cnt") > 0)
                {
                    // The first Verdaux names the version itself; the others name its parents.
                    ulong aux = vd + U32(p + 12, "vd_aux");
                    CheckWithin(aux, VerdauxSize, sec.Offset, end, "Verdaux entry");
                    result.Add(String(strtab, U32((int)aux, "vda_name"), "vda_name"));
                }
                uint next = U32(p + 16, "vd_next");
                if (next == 0) break;
                vd += next;
            }
        }
        return result;
    }

    /// <summary>
    /// The version indices of the dynamic symbols that some relocation refers to: a required version whose
    /// index is not in this set binds no symbol at load or call time.
    /// </summary>
    public IReadOnlySet<ushort> VersionIndicesUsedByRelocations()
    {
        var used = new HashSet<ushort>();
        for (int d = 0; d < sections.Length; d++)
        {
            if (sections[d].Type != ShtDynsym) continue;
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym && s.Link == d);
            if (versym.Type == 0) continue; // no symbol versions for this symbol table
            ulong symbolCount = versym.Size / 2;
            foreach (var rel in sections.Where(s => (s.Type == ShtRela || s.Type == ShtRel) && s.Link == d))
            {
                ulong entry = rel.Type == ShtRela ? 24UL : 16UL;
                if (rel.EntrySize != entry) throw new InvalidDataException($"Unexpected relocation entry size {rel.EntrySize} (expected {entry}).");
                for (ulong off = rel.Offset; off + entry <= rel.Offset + rel.Size; off += entry)
                {
                    ulong symbol = U64((int)off + 8, "r_info") >> 32;
                    if (symbol == 0) continue;
                    if (symbol >= symbolCount) throw new InvalidDataException($"Relocation refers to symbol {symbol}, beyond .gnu.version ({symbolCount} entries).");
                    used.Add((ushort)(U16((int)(versym.Offset + symbol * 2), "versym") & 0x7fff));
                }
            }
        }
        return used;
    }

    Section LinkedSection(Section sec, string what)
    {
        if (sec.Link >= sections.Length) throw new InvalidDataException($"The {what} section links to section {sec.Link}, which does not exist.");
        return sections[sec.Link];
    }

    string String(Section strtab, uint offset, string field)
    {
        if (offset >= strtab.Size) throw new InvalidDataException($"{field} ({offset}) is outside its string table ({strtab.Size} bytes).");
        int start = checked((int)(strtab.Offset + offset));
        int limit = checked((int)(strtab.Offset + strtab.Size));
        int nul = Array.IndexOf(image, (byte)0, start, limit - start);
        if (nul < 0) throw new InvalidDataException($"{field} ({offset}) is not NUL-terminated inside its string table.");
        return Encoding.ASCII.GetString(image, start, nul - start);
    }

    void CheckRange(ulong offset, ulong size, string what)
    {
        if (offset > (ulong)image.Length || size > (ulong)image.Length - offset)
            throw new InvalidDataException($"The {what} (offset {offset}, {size} bytes) extends past the end of the file ({image.Length} bytes).");
    }

    static void CheckWithin(ulong offset, ulong size, ulong start, ulong end, string what)
    {
        if (offset < start || offset > end || size > end - offset)
            throw new InvalidDataException($"A {what} at offset {offset} lies outside its section [{start}, {end}).");
    }

    ushort U16(int offset, string field) => BinaryPrimitives.ReadUInt16LittleEndian(Slice(offset, 2, field));
    uint U32(int offset, string field) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(offset, 4, field));
    ulong U64(int offset, string field) => BinaryPrimitives.ReadUInt64LittleEndian(Slice(offset, 8, field));

    ReadOnlySpan<byte> Slice(int offset, int size, string field)
    {
        if (offset < 0 || offset > image.Length - size)
            throw new InvalidDataException($"{field} at offset {offset} is past the end of the file ({image.Length} bytes).");
        return image.AsSpan(offset, size);
    }
}
