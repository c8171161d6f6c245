using System.Buffers;
using System.Text.Json;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>A request body that does not match the model's signature or the protocol; the message names what was expected (HTTP 400).</summary>
public sealed class InferenceRequestException : Exception
{
    /// <summary>Creates the exception with a message naming the problem.</summary>
    public InferenceRequestException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public InferenceRequestException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with a default message.</summary>
    public InferenceRequestException() : base("The inference request is not valid.") { }
}

/// <summary>
/// Reads an Open Inference Protocol (KServe v2) JSON infer request against a model's signature:
/// <c>{"id": "...", "inputs": [{"name": "input", "shape": [2, 784], "datatype": "FP32", "data": [...]}], "outputs": [{"name": "output"}]}</c>.
/// <c>data</c> may be flat (row-major) or nested as the shape.
/// </summary>
public static class InferenceRequest
{
    /// <summary>Most elements one request may carry (16M: 64 MiB of FP32).</summary>
    public const long MaxElements = 1 << 24;

    /// <summary>
    /// Parses <paramref name="root"/> and returns the request id (if any) and the input tensor, shaped as the request
    /// says, after checking it against <paramref name="signature"/>.
    /// </summary>
    /// <exception cref="InferenceRequestException">The body is not a valid request for this signature; the message names the field, what was found and what was expected.</exception>
    public static (string? Id, Tensor Input) Parse(JsonElement root, ModelSignature signature)
    {
        var (id, input, _) = Parse(root, signature, ReadOnlySpan<byte>.Empty);
        return (id, input);
    }

    /// <summary>
    /// Parses a request that may use the binary tensor data extension: an input whose <c>parameters</c> hold
    /// <c>binary_data_size</c> has no <c>data</c>; its values are <paramref name="binary"/> (little-endian FP32, the
    /// bytes after the JSON header). Also returns whether the output is asked for as binary data (an output's
    /// <c>parameters.binary_data</c>, or the request's <c>parameters.binary_data_output</c>).
    /// </summary>
    /// <exception cref="InferenceRequestException">The body is not a valid request for this signature, or the binary section does not match what the header declares.</exception>
    public static (string? Id, Tensor Input, bool BinaryOutput) Parse(JsonElement root, ModelSignature signature, ReadOnlySpan<byte> binary)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (root.ValueKind != JsonValueKind.Object)
            throw new InferenceRequestException($"The request body must be a JSON object with an \"inputs\" array; found {Kind(root)}.");
        string? id = null;
        if (root.TryGetProperty("id", out var idElement))
            id = idElement.ValueKind == JsonValueKind.String ? idElement.GetString()
                : throw new InferenceRequestException($"\"id\" must be a string; found {Kind(idElement)}.");
        var spec = signature.Inputs[0];
        var expectedOutput = signature.Outputs[0].Name;
        bool binaryOutput = Flag(root, "binary_data_output", "parameters.binary_data_output");
        if (root.TryGetProperty("outputs", out var outputs))
        {
            if (outputs.ValueKind != JsonValueKind.Array)
                throw new InferenceRequestException($"\"outputs\" must be an array; found {Kind(outputs)}.");
            foreach (var o in outputs.EnumerateArray())
            {
                if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String || n.GetString() != expectedOutput)
                    throw new InferenceRequestException($"\"outputs\" may only request the output \"{expectedOutput}\".");
                binaryOutput |= Flag(o, "binary_data", "outputs[].parameters.binary_data");
            }
        }
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            throw new InferenceRequestException($"The request needs an \"inputs\" array with one tensor \"{spec.Name}\".");
        if (inputs.GetArrayLength() != 1)
            throw new InferenceRequestException($"\"inputs\" has {inputs.GetArrayLength()} tensors; the model takes one, \"{spec.Name}\".");
        var input = inputs[0];
        if (input.ValueKind != JsonValueKind.Object)
            throw new InferenceRequestException($"inputs[0] must be an object; found {Kind(input)}.");

        string name = Property(input, "name", JsonValueKind.String).GetString()!;
        if (name != spec.Name)
            throw new InferenceRequestException($"inputs[0].name is \"{Clip(name)}\"; the model's input is \"{spec.Name}\".");
        string datatype = Property(input, "datatype", JsonValueKind.String).GetString()!;
        if (datatype != spec.DataType)
            throw new InferenceRequestException($"inputs[0].datatype is \"{Clip(datatype)}\"; the model's input \"{spec.Name}\" is {spec.DataType}.");
        if (spec.DataType != "FP32")
            throw new InferenceRequestException($"The model's input is {spec.DataType}; this host serves FP32 inputs only.");

        var shapeElement = Property(input, "shape", JsonValueKind.Array);
        var shape = new long[shapeElement.GetArrayLength()];
        for (int i = 0; i < shape.Length; i++)
            if (!shapeElement[i].TryGetInt64(out shape[i]) || shape[i] < 1)
                throw new InferenceRequestException($"inputs[0].shape[{i}] must be a positive integer; found {shapeElement[i].GetRawText()[..Math.Min(40, shapeElement[i].GetRawText().Length)]}.");
        string expected = $"[{string.Join(", ", spec.Shape.Select(d => d < 0 ? "N" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
        if (spec.Shape.Count > 0)
        {
            bool fits = shape.Length == spec.Shape.Count;
            for (int i = 0; fits && i < shape.Length; i++) fits = spec.Shape[i] < 0 || spec.Shape[i] == shape[i];
            if (!fits)
                throw new InferenceRequestException($"inputs[0].shape is [{string.Join(", ", shape)}]; the model's input \"{spec.Name}\" has shape {expected} (N: batch size).");
        }
        else if (shape.Length == 0)
            throw new InferenceRequestException("inputs[0].shape must have at least one dimension (the batch).");
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
            if (count > MaxElements)
                throw new InferenceRequestException($"inputs[0].shape [{string.Join(", ", shape)}] holds more than {MaxElements} elements, the most one request may carry.");
        }

        var data = new float[count];
        if (BinaryDataSize(input) is long size)
        {
            if (input.TryGetProperty("data", out _))
                throw new InferenceRequestException("inputs[0] has both \"data\" and parameters.binary_data_size; send its values one way.");
            if (size != count * sizeof(float))
                throw new InferenceRequestException($"inputs[0].parameters.binary_data_size is {size}; shape [{string.Join(", ", shape)}] of FP32 needs {count * sizeof(float)} bytes.");
            if (binary.Length != size)
                throw new InferenceRequestException($"The body holds {binary.Length} bytes of binary data after the JSON header; inputs[0] declares {size}.");
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(binary[(i * sizeof(float))..]);
                if (!float.IsFinite(data[i]))
                    throw new InferenceRequestException($"inputs[0] binary value {i} is not a finite FP32 number.");
            }
        }
        else
        {
            if (binary.Length != 0)
                throw new InferenceRequestException($"The body holds {binary.Length} bytes after the JSON header, but no input declares parameters.binary_data_size.");
            var dataElement = Property(input, "data", JsonValueKind.Array);
            int filled = 0;
            Flatten(dataElement, data, ref filled, 0, "inputs[0].data");
            if (filled != count)
                throw new InferenceRequestException($"inputs[0].data has {filled} values; shape [{string.Join(", ", shape)}] needs {count}.");
        }
        return (id, Tensor.FromArray(data, shape), binaryOutput);
    }

    /// <summary>
    /// Reads the common form of a v2 JSON infer request straight from its UTF-8 bytes, without building a document:
    /// an optional string <c>id</c> and one input with <c>name</c>, <c>datatype</c>, and <c>shape</c> before flat
    /// <c>data</c>, all of them valid for <paramref name="signature"/> (other properties are skipped). Returns false,
    /// without throwing, for anything else (malformed or mismatched bodies, <c>outputs</c> or <c>parameters</c>, nested
    /// data, data before shape, repeated properties): <see cref="Parse(JsonElement, ModelSignature, ReadOnlySpan{byte})"/>
    /// over a <see cref="JsonDocument"/> then reads it or names the problem. When it returns true, the id and tensor are
    /// the same as that method's.
    /// </summary>
    public static bool TryParseFlat(in ReadOnlySequence<byte> json, ModelSignature signature, out string? id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Tensor? input)
    {
        ArgumentNullException.ThrowIfNull(signature);
        id = null;
        input = null;
        bool read;
        try
        {
            read = TryParseFlat(new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 }), signature, ref id, ref input);
        }
        catch (JsonException)
        {
            read = false;
        }
        if (!read)
        {
            id = null;
            input = null;
        }
        return read;
    }

    static bool TryParseFlat(Utf8JsonReader reader, ModelSignature signature, ref string? id, ref Tensor? input)
    {
        var spec = signature.Inputs[0];
        if (spec.DataType != "FP32" || !reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        bool seenId = false, seenInputs = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                if (seenId || !reader.Read() || reader.TokenType != JsonTokenType.String) return false;
                seenId = true;
                id = reader.GetString();
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                if (seenInputs || !reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
                seenInputs = true;
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !TryReadInput(ref reader, spec, out input)) return false;
                if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray) return false;   // exactly one input
            }
            else if (reader.ValueTextEquals("outputs"u8) || reader.ValueTextEquals("parameters"u8)) return false;
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        // The root object ended; nothing may follow it.
        return reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read() && input is not null;
    }

    /// <summary>Reads one input object (the reader on its start) when it is in the common form and fits <paramref name="spec"/>.</summary>
    static bool TryReadInput(ref Utf8JsonReader reader, TensorSpec spec, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Tensor? input)
    {
        input = null;
        bool nameOk = false, datatypeOk = false, dataSeen = false;
        long[]? shape = null;
        float[]? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                if (nameOk || !reader.Read() || reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals(spec.Name)) return false;
                nameOk = true;
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                if (datatypeOk || !reader.Read() || reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("FP32"u8)) return false;
                datatypeOk = true;
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                if (shape is not null || !reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
                var dims = new List<long>(4);
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    if (!reader.TryGetInt64(out long d) || d < 1) return false;
                    dims.Add(d);
                }
                if (reader.TokenType != JsonTokenType.EndArray || dims.Count == 0) return false;
                if (spec.Shape.Count > 0)
                {
                    if (dims.Count != spec.Shape.Count) return false;
                    for (int i = 0; i < dims.Count; i++)
                        if (spec.Shape[i] >= 0 && spec.Shape[i] != dims[i]) return false;
                }
                long count = 1;
                foreach (var d in dims)
                    if ((count *= d) > MaxElements) return false;
                shape = [.. dims];
                data = new float[count];
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                if (dataSeen || data is null || shape is null || !reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;   // shape first
                dataSeen = true;
                int filled = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                {
                    if (filled == data.Length || !reader.TryGetSingle(out data[filled]) || !float.IsFinite(data[filled])) return false;
                    filled++;
                }
                if (reader.TokenType != JsonTokenType.EndArray || filled != data.Length) return false;
                input = Tensor.FromArray(data, shape);
            }
            else if (reader.ValueTextEquals("parameters"u8)) return false;
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || !nameOk || !datatypeOk || input is null) { input = null; return false; }
        return true;
    }

    /// <summary>The input's <c>parameters.binary_data_size</c>, or null when it sends its values as JSON.</summary>
    static long? BinaryDataSize(JsonElement input)
    {
        if (!input.TryGetProperty("parameters", out var parameters)) return null;
        if (parameters.ValueKind != JsonValueKind.Object)
            throw new InferenceRequestException($"inputs[0].parameters must be an object; found {Kind(parameters)}.");
        if (!parameters.TryGetProperty("binary_data_size", out var size)) return null;
        return size.TryGetInt64(out long n) && n >= 0 ? n
            : throw new InferenceRequestException($"inputs[0].parameters.binary_data_size must be a non-negative integer; found {Kind(size)}.");
    }

    /// <summary>A boolean in <paramref name="owner"/>'s <c>parameters</c> object (false when absent).</summary>
    static bool Flag(JsonElement owner, string name, string label)
    {
        if (!owner.TryGetProperty("parameters", out var parameters)) return false;
        if (parameters.ValueKind != JsonValueKind.Object)
            throw new InferenceRequestException($"{label[..label.LastIndexOf('.')]} must be an object; found {Kind(parameters)}.");
        if (!parameters.TryGetProperty(name, out var flag)) return false;
        return flag.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InferenceRequestException($"{label} must be a boolean; found {Kind(flag)}."),
        };
    }

    /// <summary>
    /// Parses the body of <c>POST /v1/models/{name}:predict</c>: a JSON array of instances (each nested as the
    /// model's input without the batch dimension, or flat), a single flat instance (an array of numbers), or an
    /// object <c>{"instances": [...]}</c>. Returns the batch tensor, shape [instances, ...input shape without the batch].
    /// Reads the element's JSON text as <see cref="ParseInstances(ReadOnlySpan{byte}, ModelSignature)"/> does.
    /// </summary>
    /// <exception cref="InferenceRequestException">The body is malformed or an instance has the wrong number of values (the message says how many are expected).</exception>
    public static Tensor ParseInstances(JsonElement root, ModelSignature signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (root.ValueKind == JsonValueKind.Undefined)
            throw new InferenceRequestException($"The body must be a JSON array of instances (or {{\"instances\": [...]}}); found {Kind(root)}.");
        // The element was parsed already (within its document's depth limit), so its text is valid JSON.
        var json = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(root);
        return ParseInstances(json, LocateInstances(json, maxDepth: int.MaxValue), signature);
    }

    /// <summary>
    /// <see cref="ParseInstances(JsonElement, ModelSignature)"/> straight from the UTF-8 bytes of the body, without
    /// building a document: the same tensor, the same exceptions and messages. As with a document, when the object
    /// form repeats <c>instances</c> the last one counts, and nesting deeper than 64 levels is malformed JSON.
    /// </summary>
    /// <exception cref="JsonException">The body is not valid JSON (the message is the one <see cref="JsonDocument.Parse(ReadOnlyMemory{byte}, JsonDocumentOptions)"/> gives).</exception>
    /// <exception cref="InferenceRequestException">The body is not a valid request for this signature (as for <see cref="ParseInstances(JsonElement, ModelSignature)"/>).</exception>
    public static Tensor ParseInstances(ReadOnlySpan<byte> utf8Json, ModelSignature signature)
    {
        ArgumentNullException.ThrowIfNull(signature);
        return ParseInstances(utf8Json, LocateInstances(utf8Json, MaxJsonDepth), signature);
    }

    /// <summary>Nesting limit of request bodies (as the host's documents had).</summary>
    internal const int MaxJsonDepth = 64;

    /// <summary>Where a <c>:predict</c> body's instances value starts, its token, and for an array its length and whether all its items are numbers.</summary>
    internal readonly record struct InstancesLayout(int Start, JsonTokenType Token, int Count, bool AllNumbers);

    /// <summary>
    /// Reads the whole body once, checking that it is one JSON value (throws <see cref="JsonException"/> with the
    /// reader's message, as a document parse would), and finds the value <see cref="ParseInstances(ReadOnlySpan{byte}, InstancesLayout, ModelSignature)"/>
    /// reads: the root, or the last <c>instances</c> property of a root object.
    /// </summary>
    internal static InstancesLayout LocateInstances(ReadOnlySpan<byte> json, int maxDepth)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth });
        reader.Read();
        InstancesLayout layout;
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            layout = new((int)reader.TokenStartIndex, JsonTokenType.StartObject, 0, false);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool instances = reader.ValueTextEquals("instances"u8);
                reader.Read();
                if (instances) layout = Describe(ref reader);   // the last one wins, as JsonElement.TryGetProperty finds it
                else reader.Skip();
            }
        }
        else layout = Describe(ref reader);
        // Anything after the root value besides white space is malformed (the reader throws).
        reader.Read();
        return layout;
    }

    /// <summary>The layout of the value the reader is on (reading past it).</summary>
    static InstancesLayout Describe(ref Utf8JsonReader reader)
    {
        int start = (int)reader.TokenStartIndex;
        var token = reader.TokenType;
        if (token != JsonTokenType.StartArray)
        {
            reader.Skip();   // an object: past its end; a scalar: nothing to skip
            return new(start, token, 0, false);
        }
        int count = 0;
        bool numbers = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            count++;
            numbers &= reader.TokenType == JsonTokenType.Number;
            reader.Skip();
        }
        return new(start, token, count, numbers);
    }

    /// <summary>The instances of a body <see cref="LocateInstances"/> has checked, as a batch tensor for <paramref name="signature"/>.</summary>
    internal static Tensor ParseInstances(ReadOnlySpan<byte> json, InstancesLayout layout, ModelSignature signature)
    {
        var spec = signature.Inputs[0];
        if (layout.Token != JsonTokenType.StartArray)
            throw new InferenceRequestException($"The body must be a JSON array of instances (or {{\"instances\": [...]}}); found {Kind(layout.Token)}.");
        if (spec.Shape.Count < 1 || spec.Shape.Skip(1).Any(d => d < 1))
            throw new InferenceRequestException($"The model's input \"{spec.Name}\" has no fixed instance shape; use the v2 infer route.");
        long[] instanceShape = [.. spec.Shape.Skip(1)];
        long perInstance = instanceShape.Aggregate(1L, (a, b) => a * b);
        string expected = $"[{string.Join(", ", instanceShape)}] ({perInstance} values)";
        bool single = layout.Count > 0 && layout.AllNumbers;
        int count = single ? 1 : layout.Count;
        if (count == 0) throw new InferenceRequestException($"The body holds no instances; each instance is {expected}.");
        if (count * perInstance > MaxElements)
            throw new InferenceRequestException($"{count} instances of {perInstance} values are more than {MaxElements} elements, the most one request may carry.");
        var data = new float[count * perInstance];
        var reader = new Utf8JsonReader(json[layout.Start..], new JsonReaderOptions { MaxDepth = int.MaxValue });
        reader.Read();   // the array's start
        for (int i = 0; i < count; i++)
        {
            string label = single ? "the instance" : $"instance {i}";
            if (!single)
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new InferenceRequestException($"{label} must be an array; found {Kind(reader.TokenType)}.");
            }
            int filled = 0;
            Flatten(ref reader, data.AsSpan((int)(i * perInstance), (int)perInstance), ref filled, 0, label);
            if (filled != perInstance)
                throw new InferenceRequestException($"{label} has {filled} values; the model's input \"{spec.Name}\" takes {expected} per instance.");
        }
        return Tensor.FromArray(data, [count, .. instanceShape]);
    }

    /// <summary>Reads the numbers of the array the reader is on (to its end) into <paramref name="data"/>, as <see cref="Flatten(JsonElement, float[], ref int, int, string)"/> does.</summary>
    static void Flatten(ref Utf8JsonReader reader, Span<float> data, ref int filled, int depth, string label)
    {
        if (depth > 32) throw new InferenceRequestException($"{label} is nested more than 32 levels deep.");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                Flatten(ref reader, data, ref filled, depth + 1, label);
                continue;
            }
            if (filled == data.Length)
                throw new InferenceRequestException($"{label} has more values than the {data.Length} expected.");
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetSingle(out data[filled]) || !float.IsFinite(data[filled]))
                throw new InferenceRequestException($"{label}[{filled}] must be a finite FP32 number; found {Kind(reader.TokenType)}.");
            filled++;
        }
    }

    static void Flatten(JsonElement array, float[] data, ref int filled, int depth, string label)
    {
        if (depth > 32) throw new InferenceRequestException($"{label} is nested more than 32 levels deep.");
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                Flatten(item, data, ref filled, depth + 1, label);
                continue;
            }
            if (filled == data.Length)
                throw new InferenceRequestException($"{label} has more values than the {data.Length} expected.");
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetSingle(out data[filled]) || !float.IsFinite(data[filled]))
                throw new InferenceRequestException($"{label}[{filled}] must be a finite FP32 number; found {Kind(item)}.");
            filled++;
        }
    }

    static JsonElement Property(JsonElement obj, string name, JsonValueKind kind) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == kind ? value
            : throw new InferenceRequestException($"inputs[0].{name} is missing or not {(kind == JsonValueKind.Array ? "an array" : "a string")}.");

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number out of range",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary><see cref="Kind(JsonElement)"/> for the value starting at a reader's token.</summary>
    static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number out of range",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };

    /// <summary>At most 100 characters of a value taken from a request, for messages.</summary>
    internal static string Clip(string text) => text.Length <= 100 ? text : text[..100] + "...";
}
