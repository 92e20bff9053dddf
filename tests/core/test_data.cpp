// SPDX-License-Identifier: MIT
#include "common/error.h"
#include "data/episode.h"
#include "data/libero_reader.h"
#include "data/libero_writer.h"
#include "support/test_support.h"

// The malformed files are crafted with HDF5 itself (this target links HDF5::HDF5 for that).
#include <H5Cpp.h>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

using namespace specvla;
using specvla::testing::errorOf;
using namespace specvla::data;
namespace fs = std::filesystem;

namespace {

// Every phrase must occur in the message; the failure text shows the message.
bool mentionsAll(const std::string& message, std::initializer_list<std::string> phrases) {
    for (const auto& p : phrases)
        if (message.find(p) == std::string::npos) return false;
    return !message.empty();
}

#define EXPECT_ERROR(call, ...)                                                                              \
    do {                                                                                                     \
        const std::string msg_ = errorOf([&] { call; });                                                     \
        if (qEnvironmentVariableIsSet("SPECVLA_SHOW_ERRORS")) qInfo("%s", msg_.c_str());                     \
        QVERIFY2(mentionsAll(msg_, {__VA_ARGS__}), ("unexpected message: '" + msg_ + "'").c_str());          \
    } while (0)

std::uint8_t pixel(int seed, int t, int y, int x, int c) {
    return static_cast<std::uint8_t>((seed * 101 + t * 31 + y * 7 + x * 3 + c * 50) & 0xff);
}

Episode makeEpisode(int steps, int height, int width, int seed, const std::string& name = {}) {
    Episode ep;
    ep.demoName = name;
    ep.instruction = "pick up the black bowl";
    ep.numSteps = steps;
    ep.imageHeight = height;
    ep.imageWidth = width;
    ep.images.resize(ep.imageBytes() * steps);
    for (int t = 0; t < steps; ++t)
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                for (int c = 0; c < 3; ++c)
                    ep.images[((static_cast<std::size_t>(t) * height + y) * width + x) * 3 + c] =
                        pixel(seed, t, y, x, c);
    for (int t = 0; t < steps; ++t) {
        Action a;
        for (int d = 0; d < 7; ++d)
            a[d] = 0.1 * t - 0.37 * d + seed * 1e-3 + 1.0 / 3.0; // not exact in float32
        a[6] = t % 2 ? 1.0 : -1.0;
        ep.actions.push_back(a);
    }
    ep.rewards.assign(steps, 0);
    ep.dones.assign(steps, 0);
    ep.rewards.back() = 1;
    ep.dones.back() = 1;
    return ep;
}

// Redirects stderr into a file while it lives, to prove HDF5 prints nothing.
class StderrCapture {
public:
    explicit StderrCapture(const std::string& path) : m_path(path) {
        std::fflush(stderr);
        m_saved = ::dup(2);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    std::string restore() {
        if (m_saved >= 0) {
            std::fflush(stderr);
            ::dup2(m_saved, 2);
            ::close(m_saved);
            m_saved = -1;
        }
        return testing::readBytes(m_path);
    }

private:
    std::string m_path;
    int m_saved = -1;
};

} // namespace

class TestData : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const {
        return m_dir.filePath(QString::fromStdString(name)).toStdString();
    }

    // A good raw file with two demos of 5 steps of 4x6 images, then `edit` applied to it with HDF5.
    std::string craft(const std::string& name, const std::function<void(H5::H5File&)>& edit,
                      LiberoLayout layout = LiberoLayout::Raw) {
        const auto file = path(name);
        LiberoWriteOptions options;
        options.layout = layout;
        options.instruction = "open the drawer";
        writeLiberoFile(file, {makeEpisode(5, 4, 6, 1), makeEpisode(5, 4, 6, 2)}, options);
        H5::H5File h5(file, H5F_ACC_RDWR);
        edit(h5);
        h5.close();
        return file;
    }

    static void replaceDataSet(H5::H5File& f, const std::string& name, const H5::PredType& type,
                               std::vector<hsize_t> dims) {
        f.unlink(name);
        const H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
        f.createDataSet(name, type, space);
    }

    static void setProblemInfo(H5::H5File& f, const std::string& text) {
        H5::Group data = f.openGroup("data");
        data.removeAttr("problem_info");
        H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
        data.createAttribute("problem_info", type, H5::DataSpace(H5S_SCALAR)).write(type, text);
    }

    static void checkSameEpisode(const Episode& got, const Episode& want, int first = 0, int last = -1) {
        if (last < 0) last = want.numSteps - 1;
        const int n = last - first + 1;
        QCOMPARE(got.numSteps, n);
        QCOMPARE(got.firstStep, first);
        QCOMPARE(got.imageWidth, want.imageWidth);
        QCOMPARE(got.imageHeight, want.imageHeight);
        QVERIFY(got.consistencyProblem().empty());
        for (int t = 0; t < n; ++t) {
            QVERIFY(std::memcmp(got.image(t), want.image(first + t), want.imageBytes()) == 0); // byte-exact
            QVERIFY(got.actions[t] == want.actions[first + t]); // bit-exact doubles
            QCOMPARE(got.rewards[t], want.rewards[first + t]);
            QCOMPARE(got.dones[t], want.dones[first + t]);
        }
        QVERIFY(got.image(n) == nullptr);
        QVERIFY(got.image(-1) == nullptr);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void instructionFromFileNameCases() {
        QCOMPARE(instructionFromFileName("put_the_bowl_on_the_plate_demo.hdf5"),
                 std::string("put the bowl on the plate"));
        QCOMPARE(instructionFromFileName("/data/libero_10/KITCHEN_SCENE3_turn_on_the_stove_demo.hdf5"),
                 std::string("turn on the stove"));
        QCOMPARE(instructionFromFileName(
                     "LIVING_ROOM_SCENE2_put_both_the_alphabet_soup_and_the_tomato_sauce_in_the_"
                     "basket_demo.hdf5"),
                 std::string("put both the alphabet soup and the tomato sauce in the basket"));
        QCOMPARE(
            instructionFromFileName("libero_goal_no_noops/open_the_middle_drawer_of_the_cabinet_demo.hdf5"),
            std::string("open the middle drawer of the cabinet"));
        QCOMPARE(instructionFromFileName("open_the_top_drawer_demo_no_noops.hdf5"),
                 std::string("open the top drawer"));
        QCOMPARE(instructionFromFileName("open_the_top_drawer_no_noops_demo.h5"),
                 std::string("open the top drawer"));
        QCOMPARE(instructionFromFileName("Pick_Up_The_Ketchup.hdf5"), std::string("pick up the ketchup"));
        QCOMPARE(instructionFromFileName("STUDY_SCENE1_pick_up_the_book_demo.hdf5"),
                 std::string("pick up the book"));
        QCOMPARE(instructionFromFileName("SCENE_ONLY_demo.hdf5"),
                 std::string("scene only")); // nothing else left
        QCOMPARE(instructionFromFileName("_demo.hdf5"), std::string());
    }

    void roundTripRawLayout() {
        const auto file = path("KITCHEN_SCENE1_put_the_bowl_on_the_plate_demo.hdf5");
        const std::vector<Episode> demos = {makeEpisode(7, 8, 10, 1), makeEpisode(3, 8, 10, 2)};
        LiberoWriteOptions options;
        options.layout = LiberoLayout::Raw;
        options.instruction = "open the top drawer and put the bowl inside";
        options.problemName = "libero_kitchen_tabletop_manipulation";
        options.domainName = "robosuite";
        writeLiberoFile(file, demos, options);

        const auto lf = LiberoFile::open(file);
        QCOMPARE(lf.layout(), LiberoLayout::Raw);
        QCOMPARE(lf.instruction(), options.instruction); // problem_info wins over the file name
        QCOMPARE(lf.instructionSource(), LiberoFile::InstructionSource::ProblemInfo);
        QCOMPARE(lf.problemName(), options.problemName);
        QCOMPARE(lf.domainName(), options.domainName);
        QCOMPARE(lf.demoNames(), (std::vector<std::string>{"demo_0", "demo_1"}));
        QCOMPARE(lf.numSteps(0), 7);
        QCOMPARE(lf.numSteps(1), 3);
        for (int i = 0; i < 2; ++i) {
            const Episode ep = lf.readDemo(i);
            checkSameEpisode(ep, demos[i]);
            QCOMPARE(ep.source, file);
            QCOMPARE(ep.demoName, "demo_" + std::to_string(i));
            QCOMPARE(ep.instruction, options.instruction);
            QVERIFY(ep.success());
            QVERIFY(ep.notes.empty());
        }

        // The data attrs LIBERO writes, with h5py's types.
        H5::H5File h5(file, H5F_ACC_RDONLY);
        const H5::Group data = h5.openGroup("data");
        for (const char* attr : {"problem_info", "env_name", "num_demos", "total"})
            QVERIFY2(data.attrExists(attr), attr);
        std::int64_t total = 0, samples = 0;
        data.openAttribute("total").read(H5::PredType::NATIVE_INT64, &total);
        QCOMPARE(total, std::int64_t(10));
        h5.openGroup("data/demo_1").openAttribute("num_samples").read(H5::PredType::NATIVE_INT64, &samples);
        QCOMPARE(samples, std::int64_t(3));
        QCOMPARE(h5.openDataSet("data/demo_0/actions").getDataType().getSize(), std::size_t(8));
    }

    void roundTripRegeneratedLayout() {
        const auto file = path("put_the_bowl_on_the_plate_demo.hdf5");
        const std::vector<Episode> demos = {makeEpisode(4, 16, 12, 3)};
        LiberoWriteOptions options;
        options.layout = LiberoLayout::Regenerated;
        writeLiberoFile(file, demos, options);

        auto lf = LiberoFile::open(file);
        QCOMPARE(lf.layout(), LiberoLayout::Regenerated);
        QCOMPARE(lf.instruction(), std::string("put the bowl on the plate"));
        QCOMPARE(lf.instructionSource(), LiberoFile::InstructionSource::FileName);
        QVERIFY(lf.problemName().empty());
        checkSameEpisode(lf.readDemo(0), demos[0]);
        QCOMPARE(lf.readDemo(0).instruction, std::string("put the bowl on the plate"));

        lf.setInstruction("put the cream cheese in the bowl");
        QCOMPARE(lf.instructionSource(), LiberoFile::InstructionSource::Override);
        QCOMPARE(lf.readDemo(0).instruction, std::string("put the cream cheese in the bowl"));

        H5::H5File h5(file, H5F_ACC_RDONLY);
        QCOMPARE(h5.openGroup("data").getNumAttrs(), 0);
    }

    void stepRangeReadsTheRightFrames() {
        const auto file = path("range_demo.hdf5");
        const Episode ep = makeEpisode(12, 5, 7, 4);
        writeLiberoFile(file, {ep}, {});
        const auto lf = LiberoFile::open(file);
        checkSameEpisode(lf.readDemo(0, 3, 6), ep, 3, 6);
        checkSameEpisode(lf.readDemo(0, 11, 11), ep, 11, 11);
        checkSameEpisode(lf.readDemo(0, 9), ep, 9, 11); // -1: to the end
        QVERIFY(!lf.readDemo(0, 0, 5).success());       // the success flag is on the last step only
        QVERIFY(lf.readDemo(0, 5).success());
    }

    void demosSortNumerically() {
        const auto file = path("order_demo.hdf5");
        std::vector<Episode> demos;
        for (int n : {10, 2, 0, 1, 9})
            demos.push_back(makeEpisode(2, 2, 2, n, "demo_" + std::to_string(n)));
        writeLiberoFile(file, demos, {});
        const auto lf = LiberoFile::open(file);
        QCOMPARE(lf.demoNames(),
                 (std::vector<std::string>{"demo_0", "demo_1", "demo_2", "demo_9", "demo_10"}));
        QCOMPARE(lf.demoIndex("demo_10"), 4);
        QCOMPARE(lf.demoIndex("demo_3"), -1);
        const Episode ten = lf.readDemo(4);
        QCOMPARE(ten.demoName, std::string("demo_10"));
        checkSameEpisode(ten, demos[0]);
    }

    void compressedFilesReadBackIdentically() {
        const std::vector<Episode> demos = {makeEpisode(9, 32, 24, 5), makeEpisode(1, 32, 24, 6)};
        LiberoWriteOptions options;
        options.instruction = "turn on the stove";
        writeLiberoFile(path("plain.hdf5"), demos, options);
        options.compress = true;
        writeLiberoFile(path("packed.hdf5"), demos, options);

        H5::H5File h5(path("packed.hdf5"), H5F_ACC_RDONLY);
        const H5::DSetCreatPropList plist = h5.openDataSet("data/demo_0/obs/agentview_rgb").getCreatePlist();
        QCOMPARE(plist.getLayout(), H5D_CHUNKED);
        QVERIFY(plist.getNfilters() == 1);
        hsize_t chunk[4] = {};
        plist.getChunk(4, chunk);
        QCOMPARE(chunk[0], hsize_t(1)); // one step per chunk
        h5.close();

        const auto plain = LiberoFile::open(path("plain.hdf5"));
        const auto packed = LiberoFile::open(path("packed.hdf5"));
        for (int i = 0; i < 2; ++i) {
            const Episode a = plain.readDemo(i), b = packed.readDemo(i);
            QVERIFY(a.images == b.images);
            QVERIFY(a.actions == b.actions);
            QVERIFY(a.rewards == b.rewards && a.dones == b.dones);
            checkSameEpisode(b, demos[i]);
        }
        checkSameEpisode(packed.readDemo(0, 4, 7), demos[0], 4, 7);
    }

    void float32ActionsAndFixedStringsAreRead() {
        // h5py writes numpy float32 arrays and numpy bytes attributes this way.
        const auto file = craft("f32_demo.hdf5", [](H5::H5File& f) {
            f.unlink("data/demo_0/actions");
            const hsize_t dims[2] = {5, 7};
            std::vector<float> values(35);
            for (int i = 0; i < 35; ++i)
                values[i] = 0.25f * i - 3.0f;
            f.createDataSet("data/demo_0/actions", H5::PredType::IEEE_F32LE, H5::DataSpace(2, dims))
                .write(values.data(), H5::PredType::NATIVE_FLOAT);
            H5::Group data = f.openGroup("data");
            data.removeAttr("problem_info");
            const std::string json =
                R"({"problem_name": "p", "language_instruction": "close the microwave"})";
            H5::StrType fixed(H5::PredType::C_S1, json.size() + 4); // NUL padded
            data.createAttribute("problem_info", fixed, H5::DataSpace(H5S_SCALAR)).write(fixed, json);
        });
        const auto lf = LiberoFile::open(file);
        QCOMPARE(lf.instruction(), std::string("close the microwave"));
        const Episode ep = lf.readDemo(0);
        for (int t = 0; t < 5; ++t)
            for (int d = 0; d < 7; ++d)
                QCOMPARE(ep.actions[t][d], 0.25 * (t * 7 + d) - 3.0);
    }

    void rewardsAndDonesAreOptional() {
        Episode ep = makeEpisode(3, 2, 2, 7);
        ep.rewards.clear();
        ep.dones.clear();
        writeLiberoFile(path("noflags_demo.hdf5"), {ep}, {});
        const Episode got = LiberoFile::open(path("noflags_demo.hdf5")).readDemo(0);
        QVERIFY(got.rewards.empty() && got.dones.empty());
        QVERIFY(!got.success());
        QCOMPARE(got.notes.size(), std::size_t(2));
        QVERIFY(got.notes[0].find("rewards") != std::string::npos);
    }

    // ---- malformed inputs: each gives an Error naming the file and the object, and the process goes on ----

    void missingFileAndFolder() {
        EXPECT_ERROR(LiberoFile::open(path("nope.hdf5")), path("nope.hdf5"), "no such file");
        EXPECT_ERROR(LiberoFile::open(m_dir.path().toStdString()), "is a folder");
    }

    void nonHdf5File() {
        testing::writeBytes(path("notes.hdf5"), "this is a text file, not HDF5\n");
        EXPECT_ERROR(LiberoFile::open(path("notes.hdf5")), path("notes.hdf5"), "not an HDF5 file");
        testing::writeBytes(path("empty.hdf5"), "");
        EXPECT_ERROR(LiberoFile::open(path("empty.hdf5")), path("empty.hdf5"));
    }

    void truncatedFile() {
        const auto good = path("good_demo.hdf5");
        writeLiberoFile(good, {makeEpisode(6, 16, 16, 8), makeEpisode(6, 16, 16, 9)}, {});
        const std::string bytes = testing::readBytes(good);
        const auto half = path("half_demo.hdf5");
        testing::writeBytes(half, bytes.substr(0, bytes.size() / 2));
        EXPECT_ERROR(LiberoFile::open(half), half, "truncated");

        // Every cut point either opens and reads, or throws Error; none may crash or throw anything else.
        const auto cut = path("cut_demo.hdf5");
        for (int eighth = 0; eighth < 8; ++eighth) {
            testing::writeBytes(cut, bytes.substr(0, bytes.size() * eighth / 8 + 3));
            const std::string err = errorOf([&] {
                const auto lf = LiberoFile::open(cut);
                for (int i = 0; i < lf.numDemos(); ++i)
                    lf.readDemo(i);
            });
            QVERIFY2(err.find(cut) == 0, err.c_str());
        }
    }

    void missingDataGroup() {
        const auto file = path("nodata_demo.hdf5");
        H5::H5File(file, H5F_ACC_TRUNC).createGroup("meta");
        EXPECT_ERROR(LiberoFile::open(file), file, "data: missing");
        const auto dataset = craft("data_is_dataset_demo.hdf5", [](H5::H5File& f) {
            f.unlink("data");
            const hsize_t n = 3;
            f.createDataSet("data", H5::PredType::STD_U8LE, H5::DataSpace(1, &n));
        });
        EXPECT_ERROR(LiberoFile::open(dataset), dataset, "data: expected a group, found a dataset");
    }

    void noDemoGroups() {
        const auto file = craft("nodemos_demo.hdf5", [](H5::H5File& f) {
            f.unlink("data/demo_0");
            f.unlink("data/demo_1");
            f.createGroup("data/mask");
        });
        EXPECT_ERROR(LiberoFile::open(file), file, "data: no demo_N groups", "mask");
        const auto notGroup = craft("demo_dataset_demo.hdf5", [](H5::H5File& f) {
            f.unlink("data/demo_1");
            const hsize_t n = 3;
            f.createDataSet("data/demo_1", H5::PredType::STD_U8LE, H5::DataSpace(1, &n));
        });
        EXPECT_ERROR(LiberoFile::open(notGroup), notGroup, "data/demo_1: expected a demo group");
    }

    void missingDatasets() {
        const auto noActions =
            craft("noactions_demo.hdf5", [](H5::H5File& f) { f.unlink("data/demo_1/actions"); });
        const auto lf = LiberoFile::open(noActions); // structure of demos is checked when they are used
        QCOMPARE(lf.numSteps(0), 5);
        EXPECT_ERROR(lf.readDemo(1), noActions + ": data/demo_1/actions: missing");
        EXPECT_ERROR(lf.numSteps(1), noActions + ": data/demo_1/actions: missing");

        const auto noImages =
            craft("noimages_demo.hdf5", [](H5::H5File& f) { f.unlink("data/demo_0/obs/agentview_rgb"); });
        EXPECT_ERROR(LiberoFile::open(noImages).readDemo(0),
                     noImages + ": data/demo_0/obs/agentview_rgb: missing");
        const auto noObs = craft("noobs_demo.hdf5", [](H5::H5File& f) { f.unlink("data/demo_0/obs"); });
        EXPECT_ERROR(LiberoFile::open(noObs).readDemo(0), noObs + ": data/demo_0/obs: missing");
    }

    void wrongShapes() {
        const auto six = craft("six_demo.hdf5", [](H5::H5File& f) {
            replaceDataSet(f, "data/demo_0/actions", H5::PredType::IEEE_F64LE, {5, 6});
        });
        EXPECT_ERROR(LiberoFile::open(six).readDemo(0), six, "data/demo_0/actions", "[T, 7]", "[5, 6]");

        const auto rank3 = craft("rank3_demo.hdf5", [](H5::H5File& f) {
            replaceDataSet(f, "data/demo_0/obs/agentview_rgb", H5::PredType::STD_U8LE, {5, 4, 18});
        });
        EXPECT_ERROR(LiberoFile::open(rank3).readDemo(0), rank3, "data/demo_0/obs/agentview_rgb",
                     "[T, H, W, 3]", "[5, 4, 18]");

        const auto mismatch = craft("mismatch_demo.hdf5", [](H5::H5File& f) {
            replaceDataSet(f, "data/demo_1/actions", H5::PredType::IEEE_F64LE, {4, 7});
        });
        EXPECT_ERROR(LiberoFile::open(mismatch).readDemo(1), mismatch, "data/demo_1",
                     "actions have 4 steps but obs/agentview_rgb has 5");

        const auto flags = craft("flags_demo.hdf5", [](H5::H5File& f) {
            replaceDataSet(f, "data/demo_0/dones", H5::PredType::STD_U8LE, {6});
        });
        EXPECT_ERROR(LiberoFile::open(flags).readDemo(0), flags, "data/demo_0/dones", "[5]", "[6]");
    }

    void wrongDtypes() {
        const auto wide = craft("int16img_demo.hdf5", [](H5::H5File& f) {
            replaceDataSet(f, "data/demo_0/obs/agentview_rgb", H5::PredType::STD_I16LE, {5, 4, 6, 3});
        });
        EXPECT_ERROR(LiberoFile::open(wide).readDemo(0), wide, "data/demo_0/obs/agentview_rgb",
                     "expected uint8", "int16");
        const auto intActions = craft("intact_demo.hdf5", [](H5::H5File& f) {
            replaceDataSet(f, "data/demo_0/actions", H5::PredType::STD_I32LE, {5, 7});
        });
        EXPECT_ERROR(LiberoFile::open(intActions).readDemo(0), intActions, "data/demo_0/actions",
                     "expected float32 or float64", "int32");
    }

    // HDF5 1.10 does not check a layout message against the dataset's shape and would copy past its buffers;
    // the reader does. The bytes are patched in place: HDF5's API cannot write such a file.
    void corruptLayoutMessages() {
        const auto patch = [](const std::string& file, const std::string& from, const std::string& to) {
            std::string bytes = testing::readBytes(file);
            const auto at = bytes.find(from);
            if (at == std::string::npos || bytes.find(from, at + 1) != std::string::npos) return false;
            bytes.replace(at, from.size(), to);
            testing::writeBytes(file, bytes);
            return true;
        };
        const auto le = [](std::uint64_t v, int n) {
            std::string out;
            for (int i = 0; i < n; ++i)
                out += static_cast<char>((v >> (8 * i)) & 0xff);
            return out;
        };
        // Contiguous images [5, 13, 11, 3]: the layout message records 2145 bytes; claim more.
        const auto contiguous = path("contig_demo.hdf5");
        writeLiberoFile(contiguous, {makeEpisode(5, 13, 11, 1)}, {});
        QVERIFY(patch(contiguous, le(2145, 8), le(2145 * 4096, 8)));
        EXPECT_ERROR(LiberoFile::open(contiguous).readDemo(0), contiguous, "data/demo_0/obs/agentview_rgb",
                     "records 8785920 bytes of storage", "2145");

        // Chunked images: chunk [1, 13, 11, 3] (then the element size 1) becomes [1, 13, 11, 3000].
        const auto chunked = path("chunk_demo.hdf5");
        LiberoWriteOptions options;
        options.compress = true;
        writeLiberoFile(chunked, {makeEpisode(5, 13, 11, 1)}, options);
        const std::string dims = le(1, 4) + le(13, 4) + le(11, 4);
        QVERIFY(patch(chunked, dims + le(3, 4) + le(1, 4), dims + le(3000, 4) + le(1, 4)));
        EXPECT_ERROR(LiberoFile::open(chunked).readDemo(0), chunked, "data/demo_0/obs/agentview_rgb",
                     "chunk shape [1, 13, 11, 3000] does not fit the dataset shape [5, 13, 11, 3]");
    }

    // HDF5 1.10.8 trusts a global-heap object's size when it copies a variable-length string: this file makes
    // it write past its buffer (SIGSEGV). The reader does that one read in a child process and reports it.
    void corruptStringHeapIsAnErrorNotACrash() {
        const auto file = path("heap_demo.hdf5");
        LiberoWriteOptions options;
        options.instruction = "turn off the stove";
        writeLiberoFile(file, {makeEpisode(2, 2, 2, 1)}, options);
        std::string bytes = testing::readBytes(file);
        const auto json = bytes.find("{\"domain_name\"");
        QVERIFY(json != std::string::npos && json >= 8);
        std::uint64_t size = 0; // the heap object's size field precedes its bytes
        for (int i = 7; i >= 0; --i)
            size = (size << 8) | static_cast<unsigned char>(bytes[json - 8 + i]);
        QCOMPARE(size, std::uint64_t(bytes.find('}', json) - json + 1));
        for (int i = 0; i < 8; ++i)
            bytes[json - 8 + i] = static_cast<char>(((std::uint64_t(1) << 44) >> (8 * i)) & 0xff);
        testing::writeBytes(file, bytes);
        EXPECT_ERROR(LiberoFile::open(file), file, "data attribute problem_info", "corrupt");
        writeLiberoFile(path("after_heap_demo.hdf5"), {makeEpisode(2, 2, 2, 1)},
                        options); // and HDF5 still works
        QCOMPARE(LiberoFile::open(path("after_heap_demo.hdf5")).instruction(), options.instruction);
    }

    void badProblemInfo() {
        const auto bad =
            craft("badjson_demo.hdf5", [](H5::H5File& f) { setProblemInfo(f, "{\"language_instr"); });
        EXPECT_ERROR(LiberoFile::open(bad), bad, "problem_info", "not valid JSON");
        const auto lacks =
            craft("lacks_demo.hdf5", [](H5::H5File& f) { setProblemInfo(f, R"({"problem_name": "x"})"); });
        EXPECT_ERROR(LiberoFile::open(lacks), lacks, "problem_info", "lacks language_instruction");
        const auto number = craft("number_demo.hdf5", [](H5::H5File& f) {
            H5::Group data = f.openGroup("data");
            data.removeAttr("problem_info");
            const int v = 3;
            data.createAttribute("problem_info", H5::PredType::STD_I32LE, H5::DataSpace(H5S_SCALAR))
                .write(H5::PredType::NATIVE_INT, &v);
        });
        EXPECT_ERROR(LiberoFile::open(number), number, "problem_info", "expected a JSON string", "int32");
    }

    void indexAndRangeOutOfRange() {
        const auto file = craft("range2_demo.hdf5", [](H5::H5File&) {});
        const auto lf = LiberoFile::open(file);
        EXPECT_ERROR(lf.readDemo(2), file, "demo index 2 out of range", "demo_0, demo_1");
        EXPECT_ERROR(lf.readDemo(-1), file, "demo index -1 out of range");
        EXPECT_ERROR(lf.numSteps(7), file, "demo index 7 out of range");
        EXPECT_ERROR(lf.readDemo(0, 2, 9), file, "data/demo_0", "step range [2, 9] out of range", "5 steps");
        EXPECT_ERROR(lf.readDemo(0, 4, 3), file, "step range [4, 3]");
        EXPECT_ERROR(lf.readDemo(0, -2, 3), file, "step range [-2, 3]");
        EXPECT_ERROR(lf.readDemo(1, 5), file, "data/demo_1", "step range [5, 4]");
        QCOMPARE(lf.readDemo(1, 4).numSteps, 1); // and the file still reads after all that
    }

    void hdf5PrintsNothingOnAnyThread() {
        // Thread-safe HDF5 keeps error printing per thread: a worker thread must be as quiet as this one.
        const auto good = path("quiet_demo.hdf5");
        writeLiberoFile(good, {makeEpisode(4, 8, 8, 1)}, {});
        const std::string bytes = testing::readBytes(good);
        const auto half = path("quiet_half_demo.hdf5");
        testing::writeBytes(half, bytes.substr(0, bytes.size() / 2));

        std::string mainError, workerError;
        StderrCapture capture(path("stderr.txt"));
        mainError = errorOf([&] { LiberoFile::open(half); });
        const auto text = path("quiet_text.hdf5");
        testing::writeBytes(text, "plain text");
        const auto noActions =
            craft("quiet_noactions_demo.hdf5", [](H5::H5File& f) { f.unlink("data/demo_0/actions"); });
        const auto badJson = craft("quiet_json_demo.hdf5", [](H5::H5File& f) { setProblemInfo(f, "{"); });
        std::vector<std::string> otherErrors;
        std::thread worker([&] {
            workerError = errorOf([&] { LiberoFile::open(half); });
            otherErrors.push_back(errorOf([&] { LiberoFile::open(text); }));
            otherErrors.push_back(errorOf([&] { LiberoFile::open(noActions).readDemo(0); }));
            otherErrors.push_back(errorOf([&] { LiberoFile::open(badJson); }));
            otherErrors.push_back(errorOf([&] { LiberoFile::open(good).readDemo(0, 0, 9); }));
            otherErrors.push_back(
                errorOf([&] { writeLiberoFile(path("quiet_out_demo.hdf5"), {Episode{}}, {}); }));
            LiberoFile::open(good).readDemo(0);
            writeLiberoFile(path("quiet_out_demo.hdf5"), {makeEpisode(2, 2, 2, 1)}, {});
        });
        worker.join();
        for (const auto& e : otherErrors)
            QVERIFY2(!e.empty(), "every failure on the worker thread is an Error");
        const std::string printed = capture.restore();
        QVERIFY2(printed.empty(), printed.c_str());
        QVERIFY2(mentionsAll(mainError, {half, "truncated"}), mainError.c_str());
        QCOMPARE(workerError, mainError);
    }

    // ---- writer ----

    void writerRejectsBadInput() {
        Episode ep = makeEpisode(3, 2, 2, 1);
        ep.actions.pop_back();
        EXPECT_ERROR(writeLiberoFile(path("bad_demo.hdf5"), {ep}, {}), path("bad_demo.hdf5"), "demo 0",
                     "2 actions for 3 steps");
        EXPECT_ERROR(writeLiberoFile(path("none_demo.hdf5"), {}, {}), "no demos");
        Episode blank = makeEpisode(2, 2, 2, 1);
        blank.instruction.clear();
        EXPECT_ERROR(writeLiberoFile(path("blank_demo.hdf5"), {blank}, {}), "problem_info", "no instruction");
        QVERIFY(!fs::exists(path("bad_demo.hdf5")) && !fs::exists(path("blank_demo.hdf5")));
        EXPECT_ERROR(writeLiberoFile(path("missing/folder/x_demo.hdf5"), {makeEpisode(2, 2, 2, 1)}, {}),
                     "does not exist");
    }

    void writerIsAtomic() {
        QTemporaryDir dir;
        const auto file = dir.filePath("atomic_demo.hdf5").toStdString();
        writeLiberoFile(file, {makeEpisode(3, 4, 4, 1)}, {});
        const std::string before = testing::readBytes(file);

        Episode bad = makeEpisode(3, 4, 4, 2);
        bad.images.resize(5);
        QVERIFY(!errorOf([&] { writeLiberoFile(file, {bad}, {}); }).empty());
        QCOMPARE(testing::readBytes(file), before); // the old file is untouched

        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 1); // no temporary left

        // A successful rewrite replaces the file in one step.
        writeLiberoFile(file, {makeEpisode(6, 4, 4, 5)}, {});
        QCOMPARE(LiberoFile::open(file).numSteps(0), 6);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 1);
    }
};

QTEST_GUILESS_MAIN(TestData)
#include "test_data.moc"
