// The competition metric on hand-computed cases (worked in the comments), the Usage split, and
// `trainer evaluate` end to end: table, JSON, and refusal of mismatched submissions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/csv_reader.h"
#include "identify/competition_metric.h"
#include "tests/data/data_test_util.h"

namespace wildreid::identify {
namespace {

using data::parse_csv;

// Dataset L: known A (2 queries), B (1); unknown U1 (2), U2 (1). Dataset S: known C only.
const char* kSolution =
    "image_id,identity,new_identity,dataset,Usage\n"
    "a1,A,A,L,Public\n"
    "a2,A,A,L,Private\n"
    "b1,B,B,L,Public\n"
    "u1,U1,new_individual,L,Public\n"
    "u2,U1,new_individual,L,Private\n"
    "u3,U2,new_individual,L,Private\n"
    "c1,C,C,S,Public\n";

// a1 right, a2 wrong -> A 0.5; b1 right -> B 1;      BAKS(L) = 0.75
// u1 new, u2 wrong   -> U1 0.5; u3 new -> U2 1;      BAUS(L) = 0.75   score(L) = 0.75
// S has no unknown identity -> score(S) = 0            final = (0.75 + 0) / 2 = 0.375
const char* kSubmission =
    "image_id,identity\n"
    "u3,new_individual\n"
    "a1,A\n"
    "a2,B\n"
    "b1,B\n"
    "u1,new_individual\n"
    "u2,A\n"
    "c1,C\n";

TEST(CompetitionMetric, HandComputedScores) {
  const auto e = evaluate_submission(parse_csv(kSolution, "solution.csv"), parse_csv(kSubmission, "sub.csv"));
  ASSERT_EQ(e.subsets.size(), 3u);
  const auto& all = e.subsets[0].result;
  EXPECT_EQ(e.subsets[0].name, "all");
  ASSERT_EQ(all.datasets.size(), 2u);
  EXPECT_EQ(all.datasets[0].dataset, "L");
  EXPECT_DOUBLE_EQ(all.datasets[0].baks, 0.75);
  EXPECT_DOUBLE_EQ(all.datasets[0].baus, 0.75);
  EXPECT_DOUBLE_EQ(all.datasets[0].score, 0.75);
  EXPECT_EQ(all.datasets[0].known_identities, 2u);
  EXPECT_EQ(all.datasets[0].unknown_identities, 2u);
  EXPECT_EQ(all.datasets[1].dataset, "S");
  EXPECT_DOUBLE_EQ(all.datasets[1].baks, 1.0);
  EXPECT_EQ(all.datasets[1].unknown_identities, 0u);
  EXPECT_DOUBLE_EQ(all.datasets[1].score, 0.0) << "a dataset without unknowns scores 0";
  EXPECT_DOUBLE_EQ(e.score(), 0.375);
}

TEST(CompetitionMetric, UsageSplitScoresEachSubsetOnItsOwnRows) {
  const auto e = evaluate_submission(parse_csv(kSolution, "solution.csv"), parse_csv(kSubmission, "sub.csv"));
  // Public: a1 right (A 1), b1 right (B 1) -> BAKS 1; u1 new (U1 1) -> BAUS 1 -> L 1; S (c1) 0.
  ASSERT_EQ(e.subsets[1].name, "Public");
  EXPECT_EQ(e.subsets[1].images, 4u);
  EXPECT_DOUBLE_EQ(e.subsets[1].result.datasets[0].score, 1.0);
  EXPECT_DOUBLE_EQ(e.subsets[1].result.score, 0.5);
  // Private: a2 wrong (A 0) -> BAKS 0; u2 wrong (U1 0), u3 new (U2 1) -> BAUS 0.5 -> L 0; no S row.
  ASSERT_EQ(e.subsets[2].name, "Private");
  ASSERT_EQ(e.subsets[2].result.datasets.size(), 1u);
  EXPECT_DOUBLE_EQ(e.subsets[2].result.datasets[0].baks, 0.0);
  EXPECT_DOUBLE_EQ(e.subsets[2].result.datasets[0].baus, 0.5);
  EXPECT_DOUBLE_EQ(e.subsets[2].result.score, 0.0);
}

TEST(CompetitionMetric, UnknownsAreGroupedByTrueIdentityAndBalanced) {
  // Without new_identity, unknowns are the rows whose identity is new_individual (one group).
  const auto solution = parse_csv(
      "image_id,identity,dataset\nk1,K,D\nk2,K,D\nk3,J,D\nn1,new_individual,D\nn2,new_individual,D\n", "s.csv");
  const auto submission =
      parse_csv("image_id,identity\nk1,K\nk2,new_individual\nk3,J\nn1,new_individual\nn2,K\n", "p.csv");
  // K 0.5, J 1 -> BAKS 0.75; one unknown group, 1 of 2 -> BAUS 0.5; sqrt(0.375)
  const auto e = evaluate_submission(solution, submission);
  ASSERT_EQ(e.subsets.size(), 1u);
  EXPECT_DOUBLE_EQ(e.score(), std::sqrt(0.75 * 0.5));
  // With new_identity, the two unknown images belong to different individuals: each is a group.
  const auto grouped = parse_csv(
      "image_id,identity,new_identity,dataset\nk1,K,K,D\nk2,K,K,D\nk3,J,J,D\nn1,X,new_individual,D\n"
      "n2,Y,new_individual,D\n",
      "s.csv");
  EXPECT_DOUBLE_EQ(evaluate_submission(grouped, submission).score(), std::sqrt(0.75 * 0.5));
  // X has 2 images, Y 1: BAUS = mean(1/2, 1) = 0.75, not the image-level 2/3.
  const auto uneven = parse_csv(
      "image_id,identity,new_identity,dataset\nk1,K,K,D\nn1,X,new_individual,D\nn2,X,new_individual,D\n"
      "n3,Y,new_individual,D\n",
      "s.csv");
  const auto answers = parse_csv("image_id,identity\nk1,K\nn1,new_individual\nn2,K\nn3,new_individual\n", "p.csv");
  EXPECT_DOUBLE_EQ(evaluate_submission(uneven, answers).subsets[0].result.datasets[0].baus, 0.75);
}

TEST(CompetitionMetric, AllNewIndividualScoresZero) {
  const auto e = evaluate_submission(
      parse_csv(kSolution, "solution.csv"),
      parse_csv("image_id,identity\na1,new_individual\na2,new_individual\nb1,new_individual\nu1,new_individual\n"
                "u2,new_individual\nu3,new_individual\nc1,new_individual\n",
                "sub.csv"));
  EXPECT_DOUBLE_EQ(e.subsets[0].result.datasets[0].baus, 1.0);
  EXPECT_DOUBLE_EQ(e.score(), 0.0);
}

std::string error_of(const std::string& solution, const std::string& submission) {
  try {
    evaluate_submission(parse_csv(solution, "solution.csv"), parse_csv(submission, "sub.csv"));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(CompetitionMetric, MismatchedIdsAreRefusedNamingTheFirstMissingAndExtra) {
  const std::string solution = "image_id,identity,dataset\nq1,A,D\nq2,B,D\nq3,new_individual,D\n";
  const auto missing = error_of(solution, "image_id,identity\nq1,A\nq3,B\n");
  EXPECT_NE(missing.find("1 missing (first 'q2')"), std::string::npos) << missing;
  const auto extra = error_of(solution, "image_id,identity\nq1,A\nq2,A\nq3,A\nzz,A\nzy,A\n");
  EXPECT_NE(extra.find("2 not in the solution (first 'zz')"), std::string::npos) << extra;
  const auto both = error_of(solution, "image_id,identity\nq1,A\nq2,A\nq9,A\n");
  EXPECT_NE(both.find("first 'q3'"), std::string::npos) << both;
  EXPECT_NE(both.find("first 'q9'"), std::string::npos) << both;
  const auto twice = error_of(solution, "image_id,identity\nq1,A\nq2,A\nq3,A\nq1,B\n");
  EXPECT_NE(twice.find("sub.csv:5: image_id 'q1' appears twice"), std::string::npos) << twice;
  EXPECT_NE(error_of("image_id,identity\nq1,A\n", "image_id,identity\nq1,A\n").find("no 'dataset' column"),
            std::string::npos);
}

class EvaluateCommand : public data::testing::TempDirTest {};

TEST_F(EvaluateCommand, PrintsTableAndJsonAndRefusesMismatches) {
  std::ofstream(dir_ / "solution.csv") << kSolution;
  std::ofstream(dir_ / "sub.csv") << kSubmission;
  const auto table = data::testing::run_trainer("evaluate --solution " + data::testing::quoted(dir_ / "solution.csv") +
                                                " --submission " + data::testing::quoted(dir_ / "sub.csv"));
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("Public"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("score 0.375000"), std::string::npos) << table.output;
  const auto json = data::testing::run_trainer("evaluate --json --solution " +
                                               data::testing::quoted(dir_ / "solution.csv") + " --submission " +
                                               data::testing::quoted(dir_ / "sub.csv"));
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const auto j = nlohmann::json::parse(json.output);
  EXPECT_DOUBLE_EQ(j.at("score").get<double>(), 0.375);
  EXPECT_EQ(j.at("subsets")[2].at("subset"), "Private");
  EXPECT_DOUBLE_EQ(j.at("subsets")[1].at("datasets")[0].at("BAKS").get<double>(), 1.0);

  std::ofstream(dir_ / "short.csv") << "image_id,identity\na1,A\n";
  const auto bad = data::testing::run_trainer("evaluate --solution " + data::testing::quoted(dir_ / "solution.csv") +
                                              " --submission " + data::testing::quoted(dir_ / "short.csv"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("missing (first 'a2')"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace wildreid::identify
